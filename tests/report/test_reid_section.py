"""The re-id / discovery report section reads both metrics files and skips when both are absent."""

import json

from geoloc.layout import Layout, run_record
from geoloc.report.reid_section import fewshot_table, reid_section, reid_table, rounds_table

CLUSTER = {
    "ari": 0.8,
    "nmi": 0.9,
    "unclustered": 0.0,
    "r0_ari": 0.7,
    "r0_nmi": 0.85,
    "r0_unclustered": 0.1,
    "r0_n_clusters": 5,
    "r1_ari": 0.8,
    "r1_nmi": 0.9,
    "r1_unclustered": 0.0,
    "r1_n_clusters": 6,
    "prototypical_1shot_acc": 0.8,
    "prototypical_1shot_ci95": 0.02,
    "matching_5shot_acc": 0.9,
    "matching_5shot_ci95": 0.01,
}
REID = {
    "acc": 0.5,
    "map": 0.3,
    "top1": 0.5,
    "top5": 0.7,
    "k": 1,
    "n_identities": 4,
    "n_gallery": 12,
    "n_query": 4,
    "acc_pixels": 0.2,
    "map_pixels": 0.1,
}


def test_tables_parse_flat_keys():
    rounds = rounds_table(CLUSTER)
    assert list(rounds["round"]) == [0, 1] and list(rounds["ari"]) == [0.7, 0.8]
    shots = fewshot_table(CLUSTER)
    assert list(zip(shots["method"], shots["shots"], strict=True)) == [
        ("prototypical", 1),
        ("matching", 5),
    ]


def test_section_from_results(tmp_path):
    paths = Layout(tmp_path).report()
    assert reid_section(paths, None) is None
    paths.cluster.parent.mkdir(parents=True)
    paths.cluster.write_text(json.dumps(CLUSTER))
    html = reid_section(paths, None)
    assert "Discovery of bird-call types" in html and "Re-identification (synthetic" not in html
    paths.reid.parent.mkdir(parents=True)
    paths.reid.write_text(json.dumps(REID))
    html = reid_section(paths, None)
    assert "grey pixels (floor)" in html and "0.500" in html and "plotly" in html.lower()
    assert "matcher not recorded" in html  # results from before the run record


def test_the_matcher_is_named_with_the_global_and_pixel_scores_beside_it(tmp_path):
    paths = Layout(tmp_path).report()
    paths.reid.parent.mkdir(parents=True)
    paths.reid.write_text(json.dumps({**REID, "acc_global": 0.4, "map_global": 0.25}))
    run = {"matcher": "sift", "source": "synthetic individuals demo", "peers": ["global", "pixels"]}
    run |= {"backbone": "efficientnet-lite0", "sift": {"size": 192, "ratio": 0.75, "verify": True}}
    run_record(paths.reid).write_text(json.dumps(run))
    html = reid_section(paths, None)
    assert "Re-identification (synthetic individuals demo)" in html
    assert "cosine" not in html.split("Matcher:")[1].split(".")[0]  # SIFT is not cosine k-NN
    table = reid_table(json.loads(paths.reid.read_text()), run)
    assert list(table["features"]) == [
        "sift: local-feature matches per pair (ratio test + affine RANSAC inliers)",
        "global: efficientnet-lite0 (peer)",
        "grey pixels (floor)",
    ]
    assert list(table["k-NN acc"]) == [0.5, 0.4, 0.2] and list(table["mAP"]) == [0.3, 0.25, 0.1]
    assert list(table.columns[-2:]) == ["top1", "top5"]
    glob = reid_table(REID, {"matcher": "global", "backbone": "dinov2-vitb14"})
    assert glob["features"][0] == "global: cosine similarity of dinov2-vitb14's embeddings"
