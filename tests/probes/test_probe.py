"""Linear probes: grouped folds, metrics against sklearn, shuffled control at chance, L1 path, files and guard."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from genolens.errors import ConfigError, InputFormatError
from genolens.probes.probe import ProbeConfig, cross_validate, fit_linear, group_folds, make_target
from genolens.probes.probe_data import ProbeRows, sequence_clusters
from genolens.probes.probe_file import LinearProbe, check_probe, load_probe
from genolens.probes.probe_train import read_probe_result, train_probes
from genolens.provenance import Provenance

FAST = ProbeConfig(n_folds=5, n_bootstrap=100, l1_steps=6)


def _planted(n_groups: int = 80, per_group: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = n_groups * per_group
    x = rng.normal(size=(n, 16))
    y = np.where(x[:, 0] + 0.5 * x[:, 1] + 0.5 * rng.normal(size=n) > 0, "yes", "no")
    return x, y, np.repeat(np.arange(n_groups), per_group)


def test_group_folds_keep_groups_together_and_balance():
    groups = np.repeat(np.arange(40), 3)
    y = np.repeat(np.arange(40) % 2, 3)
    fold = group_folds(groups, n_folds=5, seed=1, y=y)
    for g in range(40):
        assert np.unique(fold[groups == g]).size == 1
    assert set(fold) == set(range(5))
    assert all(0 < y[fold == k].mean() < 1 for k in range(5))
    with pytest.raises(ConfigError, match="3 groups cannot fill 5"):
        group_folds(np.array([0, 0, 1, 2]), n_folds=5, seed=0)


def test_planted_signal_is_read_and_shuffled_control_sits_at_chance():
    x, y, groups = _planted()
    cv = cross_validate({"raw": x}, [make_target("label", y)], groups=groups, config=FAST)
    t = cv.table.set_index(["representation", "metric"])
    assert t.loc[("raw", "auroc"), "score"] > 0.9
    assert t.loc[("raw", "auroc"), "ci_low"] > t.loc[("shuffled_raw", "auroc"), "ci_high"]
    shuffled = t.loc[("shuffled_raw", "auroc")]
    assert shuffled["ci_low"] < 0.5 < shuffled["ci_high"]
    assert t.loc[("raw", "average_precision"), "chance"] == pytest.approx(np.mean(y == "yes"))
    # the binary AUROC is sklearn's on out-of-fold probabilities of the same folds
    fold = group_folds(groups, n_folds=5, seed=0, y=y)
    oof = np.zeros(len(y))
    for k in range(5):
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x[fold != k], y[fold != k])
        oof[fold == k] = model.predict_proba(x[fold == k])[:, 1]
    assert t.loc[("raw", "auroc"), "score"] == pytest.approx(roc_auc_score(y == "yes", oof), abs=1e-9)


def test_grouping_removes_the_leak_of_near_identical_rows():
    """Each group is one random point repeated with tiny noise and a random label: nothing generalises across
    groups, so grouped folds must give chance, while folds that split groups would read the label back."""
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(60, 32))
    labels = rng.permutation(np.repeat(["a", "b"], 30))
    groups = np.repeat(np.arange(60), 5)
    x = centres[groups] + 0.01 * rng.normal(size=(300, 32))
    y = labels[groups]
    grouped = cross_validate({"raw": x}, [make_target("y", y)], groups=groups, config=FAST).table
    leaky = cross_validate({"raw": x}, [make_target("y", y)], groups=np.arange(300), config=FAST).table
    auroc = lambda t: float(t[(t.representation == "raw") & (t.metric == "auroc")]["score"].iat[0])  # noqa: E731
    assert auroc(leaky) > 0.9
    assert 0.3 < auroc(grouped) < 0.7


def test_regression_and_multiclass_targets():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(240, 10))
    value = x @ rng.normal(size=10) + 0.3 * rng.normal(size=240)
    cls = np.array(["a", "b", "c"])[np.argmax(x[:, :3], axis=1)]
    groups = np.arange(240) // 3
    targets = [make_target("value", value), make_target("cls", cls)]
    assert [t.kind for t in targets] == ["regression", "multiclass"]
    t = cross_validate({"raw": x}, targets, groups=groups, config=FAST).table.set_index(
        ["target", "representation", "metric"])
    assert t.loc[("value", "raw", "r2"), "score"] > 0.9
    assert t.loc[("value", "shuffled_raw", "r2"), "score"] < 0.05
    assert t.loc[("cls", "raw", "balanced_accuracy"), "score"] > 0.8
    assert t.loc[("cls", "raw", "balanced_accuracy"), "chance"] == pytest.approx(1 / 3)
    assert abs(t.loc[("cls", "shuffled_raw", "balanced_accuracy"), "score"] - 1 / 3) < 0.12


def test_l1_path_counts_the_few_features_that_carry_the_label():
    rng = np.random.default_rng(2)
    codes = np.maximum(rng.normal(size=(400, 60)), 0)  # sparse non-negative, like SAE features
    y = np.where(codes[:, 3] + codes[:, 17] + codes[:, 42] > 1.2, "yes", "no")
    x = {"raw": rng.normal(size=(400, 8)), "sae": codes}
    cv = cross_validate(x, [make_target("y", y)], groups=np.arange(400) // 4, config=FAST, l1_on=("sae",))
    info = cv.summary["targets"]["y"]
    assert info["sae_features_total"] == 60
    assert 1 <= info["sae_features_needed"] <= 8
    assert not cv.l1.empty and cv.l1["n_features"].is_monotonic_increasing


def test_folded_probe_scores_equal_the_pipeline():
    x, y, _ = _planted()
    x = x * np.arange(1, 17) + 5.0  # unscaled inputs: the standardisation must be folded into the weights
    weight, bias = fit_linear(x, make_target("y", y), config=FAST)
    probe = LinearProbe(target="y", kind="binary", outputs=("yes",), weight=weight, bias=bias, level="base")
    import torch

    ref = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y).predict_proba(x)[:, 1]
    np.testing.assert_allclose(probe.scores(torch.from_numpy(x)).numpy(), ref, atol=1e-4)


def test_probe_files_round_trip_and_refuse_another_model_layer_or_tokenizer(tmp_path):
    x, y, groups = _planted(n_groups=40)
    prov = Provenance(model="hyenadna-tiny", model_hash="sha256:abc", layer=2, tokenizer="CharTokenizer(v=12)")
    rows = ProbeRows("base", {"raw": x.astype(np.float32)}, [make_target("exon", y)], groups.astype(str), prov)
    result = train_probes(rows, config=FAST)
    out = result.write(tmp_path / "probe")
    assert (out / "exon" / "raw" / "probe.safetensors").is_file() and (out / "exon" / "raw" / "cfg.json").is_file()
    back = read_probe_result(out)
    assert back.score("exon", "raw", "auroc") == pytest.approx(result.score("exon", "raw", "auroc"))
    probe = back.probes[("exon", "raw")]
    np.testing.assert_array_equal(probe.weight, result.probes[("exon", "raw")].weight)
    assert probe.provenance == prov and probe.outputs == ("yes",) and probe.metrics["auroc"] > 0.9
    check_probe(probe, Provenance(model="hyenadna-tiny", model_hash="sha256:abc", layer=2))  # same: fine
    with pytest.raises(ConfigError, match="layer: probe has 2, input has 1"):
        check_probe(probe, Provenance(model="hyenadna-tiny", layer=1))
    with pytest.raises(ConfigError, match="model: probe has 'hyenadna-tiny', input has 'antiberty'"):
        check_probe(probe, Provenance(model="antiberty", layer=2))
    with pytest.raises(ConfigError, match="tokenizer: probe has"):
        check_probe(probe, Provenance(model="hyenadna-tiny", tokenizer="BPE", layer=2))
    with pytest.raises(ConfigError, match="model_hash"):
        check_probe(probe, Provenance(model="hyenadna-tiny", model_hash="sha256:other", layer=2))
    weights = out / "exon" / "raw" / "probe.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(InputFormatError, match="probe weights file"):
        load_probe(weights.parent)


def test_sequence_clusters_join_near_identical_sequences():
    base = "EVQLVESGGGLVQPGGSLRLSCAASGFTFSSYAMSWVRQAPGKGLEWVSAISGSGGSTYYADSVKG"
    near = base[:30] + "A" + base[31:]
    other = "QVQLQQSGAELARPGASVKMSCKASGYTFTRYTMHWVKQRPGQGLEWIGYINPSRGYTNYNQKFKD"
    labels = sequence_clusters([base, other, near])
    assert labels[0] == labels[2] != labels[1]
    with pytest.raises(ConfigError, match="min_similarity"):
        sequence_clusters([base], min_similarity=0)


def test_single_class_target_is_refused():
    with pytest.raises(ConfigError, match="single class"):
        make_target("y", np.array(["a", "a", "a"]))


def test_metrics_equal_sklearn():
    from sklearn.metrics import average_precision_score, balanced_accuracy_score, f1_score

    from genolens.probes.probe import _metrics

    rng = np.random.default_rng(5)
    score = np.round(rng.random(300), 2)  # ties included
    y = np.where(score + rng.normal(scale=0.4, size=300) > 0.6, "yes", "no")
    got = _metrics(make_target("y", y), y, score, FAST)
    pos, call = y == "yes", score >= 0.5
    assert got["auroc"] == pytest.approx(roc_auc_score(pos, score))
    assert got["average_precision"] == pytest.approx(average_precision_score(pos, score))
    assert got["f1"] == pytest.approx(f1_score(pos, call))
    assert got["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(pos, call))
    proba = rng.dirichlet(np.ones(3), size=300)
    cls = np.array(["a", "b", "c"])[np.argmax(proba + rng.normal(scale=0.3, size=(300, 3)), axis=1)]
    got = _metrics(make_target("c", cls), cls, proba, FAST)
    pred = np.array(["a", "b", "c"])[proba.argmax(1)]
    assert got["auroc"] == pytest.approx(roc_auc_score(cls, proba, multi_class="ovr"))
    assert got["f1"] == pytest.approx(f1_score(cls, pred, average="macro"))
    assert got["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(cls, pred))
