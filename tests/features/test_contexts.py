"""Top contexts: bases are the FASTA's, the shading peaks at the activating base, inputs are checked."""

from __future__ import annotations

import numpy as np
import pytest

from genolens.errors import ConfigError, InputFormatError
from genolens.features.contexts import read_contexts, top_contexts, write_contexts
from genolens.features.source import StoreSource
from genolens.features.summary import SummaryConfig, summarize_features
from genolens.io.fasta import read_fasta
from genolens.sae.checkpoint import load_sae


@pytest.fixture(scope="module")
def parts(planted):
    source = StoreSource(planted["store"])
    sae = load_sae(planted["sae"])
    summary = summarize_features(source, sae=sae, config=SummaryConfig(top_n=4))
    seqs = {r.id: r.sequence for r in read_fasta(planted["fasta"])}
    return source, sae, summary, seqs


def test_contexts_hold_the_sequence_and_the_activation(parts, tmp_path):
    source, sae, summary, seqs = parts
    ctx = top_contexts(source, sae=sae, summary=summary, sequences=seqs, flank=7)
    assert len(ctx) == int((summary.top_rows >= 0).sum())
    for rec in ctx.itertuples():
        assert rec.bases == seqs[rec.sequence_id][rec.window_start : rec.window_end]
        assert rec.window_start == max(0, rec.position - 7)
        peak = rec.position - rec.window_start
        assert rec.base_activations[peak] == pytest.approx(rec.activation, rel=1e-5)
        assert rec.base_activations.max() <= summary.max[rec.feature] * (1 + 1e-6)
    write_contexts(ctx, path=tmp_path / "c.tsv")
    back = read_contexts(tmp_path / "c.tsv")
    assert list(back["bases"]) == list(ctx["bases"])
    np.testing.assert_allclose(back["base_activations"][3], ctx["base_activations"][3], rtol=1e-3)


def test_contexts_without_sequences_take_the_stored_bases(parts):
    source, sae, summary, seqs = parts
    ctx = top_contexts(source, sae=sae, summary=summary, flank=3)
    given = top_contexts(source, sae=sae, summary=summary, sequences=seqs, flank=3)
    assert len(ctx) > 0 and ctx["bases"].tolist() == given["bases"].tolist()
    for rec in ctx.itertuples():
        assert rec.bases == seqs[rec.sequence_id][rec.window_start : rec.window_end] and rec.bases
    assert (ctx["ref_pos"] == -1).all()  # plain FASTA input: no reference coordinates


def test_wrong_sequences_are_refused(parts):
    source, sae, summary, seqs = parts
    missing = dict(seqs)
    missing.pop("s7")
    with pytest.raises(InputFormatError, match="missing from the sequences"):
        top_contexts(source, sae=sae, summary=summary, sequences=missing)
    short = {**seqs, "s7": seqs["s7"][:-1]}
    with pytest.raises(InputFormatError, match="299 bases, the store says 300"):
        top_contexts(source, sae=sae, summary=summary, sequences=short)
    changed = {**seqs, "s7": ("C" if seqs["s7"][0] != "C" else "G") + seqs["s7"][1:]}
    with pytest.raises(InputFormatError, match="record 's7': sequence differs from the one the store was embedded"):
        top_contexts(source, sae=sae, summary=summary, sequences=changed)
    with pytest.raises(ConfigError, match="flank"):
        top_contexts(source, sae=sae, summary=summary, flank=-1)
