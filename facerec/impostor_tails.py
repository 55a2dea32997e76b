"""Each embedder's impostor tails, as measured by ``scripts/measure_impostors.py``.

Generated data: the similarity a face reaches with a person it is not, for a person
enrolled with 1 to 5 faces, read off every pair of different people among the LFW photos
of ``../shared/faces/lfw``. The registry (``facerec.registry``) hands each embedder its
tails; the open-set rule (``facerec.open_set``) sets thresholds from them. An embedding
averaged with its mirror image (``+flip``) uses the plain model's tails.
"""

from __future__ import annotations

from .open_set import ImpostorTail, ImpostorTails

SFACE_2021DEC = ImpostorTails(
    data="9,337 LFW faces of 4,333 people, every pair of different people; "
         "python scripts/measure_impostors.py --model sface-2021dec",
    by_faces=(
        ImpostorTail(pairs=43567289, per_decade=0.0538, points=(
            (2e-01, 0.1612), (1e-01, 0.2001), (5e-02, 0.2322), (2e-02, 0.2683),
            (1e-02, 0.2923), (5e-03, 0.3142), (2e-03, 0.3409), (1e-03, 0.3597),
            (5e-04, 0.3776), (2e-04, 0.3999), (1e-04, 0.4161), (5e-05, 0.4322),
            (2e-05, 0.4525), (1e-05, 0.4677))),
        ImpostorTail(pairs=15679476, per_decade=0.0518, points=(
            (2e-01, 0.1548), (1e-01, 0.1905), (5e-02, 0.2200), (2e-02, 0.2534),
            (1e-02, 0.2758), (5e-03, 0.2963), (2e-03, 0.3213), (1e-03, 0.3389),
            (5e-04, 0.3557), (2e-04, 0.3768), (1e-04, 0.3921), (5e-05, 0.4070),
            (2e-05, 0.4273), (1e-05, 0.4434))),
        ImpostorTail(pairs=8407511, per_decade=0.0492, points=(
            (2e-01, 0.1527), (1e-01, 0.1871), (5e-02, 0.2156), (2e-02, 0.2479),
            (1e-02, 0.2696), (5e-03, 0.2895), (2e-03, 0.3138), (1e-03, 0.3312),
            (5e-04, 0.3474), (2e-04, 0.3688), (1e-04, 0.3843), (5e-05, 0.3986),
            (2e-05, 0.4157), (1e-05, 0.4299))),
        ImpostorTail(pairs=5691317, per_decade=0.0489, points=(
            (2e-01, 0.1515), (1e-01, 0.1852), (5e-02, 0.2133), (2e-02, 0.2450),
            (1e-02, 0.2663), (5e-03, 0.2859), (2e-03, 0.3099), (1e-03, 0.3267),
            (5e-04, 0.3428), (2e-04, 0.3633), (1e-04, 0.3783), (5e-05, 0.3926),
            (2e-05, 0.4104), (1e-05, 0.4252))),
        ImpostorTail(pairs=3946046, per_decade=0.0502, points=(
            (2e-01, 0.1509), (1e-01, 0.1841), (5e-02, 0.2118), (2e-02, 0.2432),
            (1e-02, 0.2643), (5e-03, 0.2838), (2e-03, 0.3073), (1e-03, 0.3240),
            (5e-04, 0.3396), (2e-04, 0.3607), (1e-04, 0.3745), (5e-05, 0.3890),
            (2e-05, 0.4079))),
    ))

W600K_MBF = ImpostorTails(
    data="9,337 LFW faces of 4,333 people, every pair of different people; "
         "python scripts/measure_impostors.py --model w600k-mbf",
    by_faces=(
        ImpostorTail(pairs=43567289, per_decade=0.0529, points=(
            (2e-01, 0.0610), (1e-01, 0.0909), (5e-02, 0.1164), (2e-02, 0.1461),
            (1e-02, 0.1667), (5e-03, 0.1860), (2e-03, 0.2104), (1e-03, 0.2281),
            (5e-04, 0.2453), (2e-04, 0.2674), (1e-04, 0.2829), (5e-05, 0.2984),
            (2e-05, 0.3187), (1e-05, 0.3346))),
        ImpostorTail(pairs=15679476, per_decade=0.0496, points=(
            (2e-01, 0.0557), (1e-01, 0.0830), (5e-02, 0.1064), (2e-02, 0.1339),
            (1e-02, 0.1532), (5e-03, 0.1714), (2e-03, 0.1945), (1e-03, 0.2113),
            (5e-04, 0.2275), (2e-04, 0.2483), (1e-04, 0.2632), (5e-05, 0.2776),
            (2e-05, 0.2967), (1e-05, 0.3108))),
        ImpostorTail(pairs=8407511, per_decade=0.0488, points=(
            (2e-01, 0.0538), (1e-01, 0.0801), (5e-02, 0.1027), (2e-02, 0.1294),
            (1e-02, 0.1481), (5e-03, 0.1659), (2e-03, 0.1886), (1e-03, 0.2054),
            (5e-04, 0.2212), (2e-04, 0.2421), (1e-04, 0.2569), (5e-05, 0.2703),
            (2e-05, 0.2903), (1e-05, 0.3026))),
        ImpostorTail(pairs=5691317, per_decade=0.048, points=(
            (2e-01, 0.0529), (1e-01, 0.0788), (5e-02, 0.1009), (2e-02, 0.1273),
            (1e-02, 0.1457), (5e-03, 0.1633), (2e-03, 0.1859), (1e-03, 0.2023),
            (5e-04, 0.2177), (2e-04, 0.2378), (1e-04, 0.2512), (5e-05, 0.2641),
            (2e-05, 0.2850), (1e-05, 0.2991))),
        ImpostorTail(pairs=3946046, per_decade=0.0494, points=(
            (2e-01, 0.0525), (1e-01, 0.0779), (5e-02, 0.0999), (2e-02, 0.1260),
            (1e-02, 0.1444), (5e-03, 0.1619), (2e-03, 0.1841), (1e-03, 0.2005),
            (5e-04, 0.2159), (2e-04, 0.2355), (1e-04, 0.2496), (5e-05, 0.2639),
            (2e-05, 0.2837))),
    ))

DLIB_RESNET_V1 = ImpostorTails(
    data="9,337 LFW faces of 4,333 people, every pair of different people; "
         "python scripts/measure_impostors.py --model dlib-resnet-v1",
    by_faces=(
        ImpostorTail(pairs=43567289, per_decade=0.013, points=(
            (2e-01, 0.8656), (1e-01, 0.8794), (5e-02, 0.8900), (2e-02, 0.9012),
            (1e-02, 0.9082), (5e-03, 0.9144), (2e-03, 0.9217), (1e-03, 0.9267),
            (5e-04, 0.9313), (2e-04, 0.9369), (1e-04, 0.9410), (5e-05, 0.9449),
            (2e-05, 0.9494), (1e-05, 0.9526))),
        ImpostorTail(pairs=15679476, per_decade=0.0136, points=(
            (2e-01, 0.8646), (1e-01, 0.8778), (5e-02, 0.8878), (2e-02, 0.8983),
            (1e-02, 0.9050), (5e-03, 0.9110), (2e-03, 0.9181), (1e-03, 0.9230),
            (5e-04, 0.9277), (2e-04, 0.9336), (1e-04, 0.9378), (5e-05, 0.9419),
            (2e-05, 0.9466), (1e-05, 0.9502))),
        ImpostorTail(pairs=8407511, per_decade=0.0134, points=(
            (2e-01, 0.8642), (1e-01, 0.8772), (5e-02, 0.8871), (2e-02, 0.8974),
            (1e-02, 0.9040), (5e-03, 0.9099), (2e-03, 0.9169), (1e-03, 0.9219),
            (5e-04, 0.9267), (2e-04, 0.9325), (1e-04, 0.9369), (5e-05, 0.9409),
            (2e-05, 0.9455), (1e-05, 0.9486))),
        ImpostorTail(pairs=5691317, per_decade=0.0132, points=(
            (2e-01, 0.8639), (1e-01, 0.8768), (5e-02, 0.8866), (2e-02, 0.8970),
            (1e-02, 0.9035), (5e-03, 0.9094), (2e-03, 0.9165), (1e-03, 0.9215),
            (5e-04, 0.9261), (2e-04, 0.9320), (1e-04, 0.9360), (5e-05, 0.9402),
            (2e-05, 0.9445), (1e-05, 0.9478))),
        ImpostorTail(pairs=3946046, per_decade=0.014, points=(
            (2e-01, 0.8638), (1e-01, 0.8766), (5e-02, 0.8863), (2e-02, 0.8965),
            (1e-02, 0.9030), (5e-03, 0.9088), (2e-03, 0.9157), (1e-03, 0.9207),
            (5e-04, 0.9253), (2e-04, 0.9310), (1e-04, 0.9350), (5e-05, 0.9388),
            (2e-05, 0.9439))),
    ))
