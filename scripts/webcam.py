"""Live recognition from a webcam (or a video file or stream): ``facerec watch``.

    python scripts/webcam.py --db facerec-db                      # camera 0, in a window
    python scripts/webcam.py --db facerec-db --source clip.mp4 --headless --out named.mp4
"""

import sys

from facerec.cli import main

if __name__ == "__main__":
    sys.exit(main(["watch", *sys.argv[1:]]))
