"""Grouping faces without names: the scores, the algorithms, and real faces end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facerec import Gallery, Recognizer
from facerec.cli import main
from facerec.clustering.algorithms import chinese_whispers, connected_components
from facerec.clustering.graph import Graph, neighbour_graph
from facerec.clustering.metrics import score_clustering


def test_scores_on_a_hand_computed_case():
    # clusters {0,1} {2,3} and face 4 alone; people a a a b b
    s = score_clustering(np.array([0, 0, 1, 1, -1]), np.array(list("aaabb")))
    assert s.pairwise_precision == 0.5  # (0,1) right, (2,3) wrong
    assert s.pairwise_recall == 0.25  # 1 of the 4 same-person pairs together
    assert s.bcubed_precision == pytest.approx((1 + 1 + 0.5 + 0.5 + 1) / 5)
    assert s.bcubed_recall == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 / 2 + 1 / 2) / 5)
    assert (s.clusters, s.ungrouped) == (2, 1)


def test_algorithms_on_a_small_graph():
    # two triangles (0,1,2) and (3,4,5) joined by one weak edge, and face 6 alone
    first = np.array([0, 0, 1, 3, 3, 4, 2])
    second = np.array([1, 2, 2, 4, 5, 5, 3])
    weight = np.array([0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.1])
    graph = Graph(7, first, second, weight)
    assert list(connected_components(graph)) == [0, 0, 0, 0, 0, 0, -1]  # chained
    labels = chinese_whispers(graph)
    assert labels[0] == labels[1] == labels[2] != labels[3] == labels[4] == labels[5]
    assert labels[6] == -1


def test_mutual_graph_drops_one_sided_neighbours():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    one_sided = neighbour_graph(x, 3, -1.0)
    mutual = neighbour_graph(x, 3, -1.0, mutual=True)
    assert 0 < len(mutual.first) < len(one_sided.first)
    assert np.all(mutual.first < mutual.second)


def test_cluster_and_name_a_group_of_real_faces(shared_faces, model_paths, tmp_path):
    gallery = shared_faces / "gallery"
    out, db = tmp_path / "groups", tmp_path / "db"
    assert main(["cluster", str(gallery), "--out", str(out)]) == 0
    record = json.loads((out / "groups.json").read_text())
    faces = record["faces"]
    assert len(faces) == 9 and (out / "embeddings.npy").is_file()
    people = np.array([face["photo"].split("/")[-2] for face in faces])
    groups = np.array([-1 if face["group"] is None else face["group"] for face in faces])
    scores = score_clustering(groups, people)
    assert scores.pairwise_precision == 1.0 and scores.pairwise_recall >= 0.75
    obama = int(groups[people == "obama"][0])
    assert obama >= 1 and np.all(groups[people == "obama"] == obama)
    assert (out / f"group-{obama:03d}.png").is_file()  # numbered as groups.json numbers it

    assert main(["name-group", str(out), str(obama), "Barack Obama", "--db", str(db)]) == 0
    with Recognizer(Gallery(db, create=False)) as recognizer:
        assert recognizer.gallery.people() == [("Barack Obama", 2)]
        names = {m.person for m in recognizer.identify(shared_faces / "probes" / "obama1.jpg")}
    assert names == {"Barack Obama"}
    assert main(["name-group", str(out), "99", "x", "--db", str(db)]) == 2


@pytest.mark.slow
def test_clusters_over_http(model_paths, samples, tmp_path):
    """POST /v1/clusters groups uploaded photos' faces, and without photos the unknown
    faces identify has seen."""
    httpx = pytest.importorskip("httpx", reason="httpx is a test dependency")
    from server import running_server

    files = [("images", (name, (samples / name).read_bytes(), "image/jpeg"))
             for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")]
    with running_server(tmp_path / "db") as running:
        answer = httpx.post(f"{running.url}/v1/clusters", files=files, timeout=120)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["faces"] == 4 and body["model"] == "sface-2021dec"
        grouped = {face["image"] for group in body["groups"] for face in group["faces"]}
        assert len(body["groups"]) == 1 and grouped == {"obama.jpg", "obama2.jpg",
                                                         "obama3.jpg"}
        assert [face["image"] for face in body["ungrouped"]] == ["biden.jpg"]
        for name in ("obama.jpg", "obama2.jpg"):  # nobody is enrolled: unknown, remembered
            seen = httpx.post(f"{running.url}/v1/identify", timeout=120,
                              files={"image": (name, (samples / name).read_bytes(),
                                               "image/jpeg")})
            assert seen.json()["faces"][0]["person"] == "unknown"
        remembered = httpx.post(f"{running.url}/v1/clusters", timeout=120).json()
        assert remembered["faces"] == 2 and len(remembered["groups"]) == 1


def test_groups_json_numbers_groups_as_the_sheets_do_and_reads_older_files(tmp_path):
    from facerec.clustering.groups import GroupedFace, Grouping, read_groups, write_groups

    def face(group: int) -> GroupedFace:
        return GroupedFace("p.jpg", "0" * 64, (0, 0, 10, 10), ((1, 1),) * 5, 0.9, group)

    grouping = Grouping("sface-2021dec", "components", 0.5, [face(0), face(1), face(-1)],
                        np.eye(3, dtype=np.float32))
    sheets = write_groups(grouping, tmp_path, lambda photo, d: np.zeros((8, 8, 3), np.uint8))
    record = json.loads((tmp_path / "groups.json").read_text())
    assert [f["group"] for f in record["faces"]] == [1, 2, None]
    assert [s.name for s in sheets] == ["group-001.png", "group-002.png"]
    assert [f.group for f in read_groups(tmp_path).faces] == [0, 1, -1]
    del record["first_group"]  # as written before groups were numbered from 1
    for f, group in zip(record["faces"], (0, 1, -1)):
        f["group"] = group
    (tmp_path / "groups.json").write_text(json.dumps(record))
    assert [f.group for f in read_groups(tmp_path).faces] == [0, 1, -1]
