"""``read_annotation(...).pwms``: the features' PWMs as annotate built them, checked against a rebuild."""

from __future__ import annotations

import numpy as np
import pytest

import genolens as gl
from genolens.errors import InputFormatError
from genolens.features.motifs import MotifConfig


def test_pwms_match_a_rebuild_from_the_top_contexts(planted):
    ann = gl.read_annotation(planted["ann"])
    config = MotifConfig(**ann.meta["config"]["motif"])
    assert ann.pwms, "the planted run has features with enough sites for a PWM"
    for feature, pwm in ann.pwms.items():
        rebuilt = gl.tl.feature_motif(ann.contexts, feature=feature, config=config)
        assert rebuilt is not None and pwm.feature == feature
        np.testing.assert_allclose(pwm.probs, rebuilt.probs)
        assert pwm.trimmed == rebuilt.trimmed and pwm.n_sites == rebuilt.n_sites
        assert pwm.first_position == -config.flank and pwm.probs.shape == (2 * config.flank + 1, 4)
    # every logo annotate drew belongs to a PWM with an informative block
    drawn = {f for f in ann.pwms if ann.logo_png(f) is not None}  # logos are drawn on demand
    assert drawn == {f for f, pwm in ann.pwms.items() if pwm.trimmed is not None}
    assert all(ann.logo_png(f)[:8] == b"\x89PNG\r\n\x1a\n" for f in drawn)


def test_pwms_that_disagree_with_the_flank_are_refused(planted, tmp_path):
    import shutil

    folder = tmp_path / "ann"
    shutil.copytree(planted["ann"], folder)
    with np.load(folder / "pwms.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays["probs"] = arrays["probs"][:, 1:]  # one column short of 2 * flank + 1
    np.savez_compressed(folder / "pwms.npz", **arrays)
    with pytest.raises(InputFormatError, match="PWM arrays disagree"):
        gl.read_annotation(folder)
    (folder / "pwms.npz").unlink()
    assert gl.read_annotation(folder).pwms == {}  # a run without motifs has none
