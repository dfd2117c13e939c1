"""Variant effects: exact zero-shot scores, indel alignment, bad input (tiny random models and real checkpoints)."""

from __future__ import annotations

import random

import numpy as np
import pysam
import pytest
import torch
from tiny_models import make_esm2, make_hyena

from genolens.adapters.heads import language_model_head
from genolens.adapters.registry import load_adapter
from genolens.adapters.zero_shot import WindowPair, score_pairs
from genolens.errors import ConfigError, ReferenceMismatchError
from genolens.interventions.variant_effects import (
    VariantEffectsConfig,
    aligned_bases,
    feature_changes,
    variant_effects,
    variant_kind,
    window_pair,
)
from genolens.io.records import SequenceRecord
from genolens.io.regions import Region
from genolens.io.windows import variant_windows
from genolens.provenance import Provenance
from genolens.sae.config import make_config
from genolens.sae.registry import build_sae

LENGTH = 200
WIDTH = 40


def random_dna(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("ACGT") for _ in range(n))


SEQ = random_dna(LENGTH, 3)


def write_reference(folder, contigs: dict[str, str]):
    fa = folder / "ref.fa"
    fa.write_text("".join(f">{name}\n{seq}\n" for name, seq in contigs.items()))
    pysam.faidx(str(fa))
    return fa


def write_vcf(folder, contigs: dict[str, str], rows: list[tuple], name: str = "v.vcf"):
    """``rows``: (contig, 1-based pos, ref, alt[, filter])."""
    head = ["##fileformat=VCFv4.2", '##FILTER=<ID=PASS,Description="All filters passed">',
            '##FILTER=<ID=LowQual,Description="Low quality">',
            *(f"##contig=<ID={c},length={len(s)}>" for c, s in contigs.items()),
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    body = [f"{r[0]}\t{r[1]}\t.\t{r[2]}\t{r[3]}\t50\t{r[4] if len(r) > 4 else 'PASS'}\t." for r in rows]
    path = folder / name
    path.write_text("\n".join(head + body) + "\n")
    return pysam.tabix_index(str(path), preset="vcf", force=True)


def snv(pos: int, seq: str = SEQ, contig: str = "chrT") -> tuple:
    ref = seq[pos - 1]
    return (contig, pos, ref, "ACGT"[("ACGT".index(ref) + 1) % 4])


@pytest.fixture(scope="module")
def hyena(tmp_path_factory):
    return load_adapter(str(make_hyena(tmp_path_factory.mktemp("hyena_ve"))))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ve_inputs")
    contigs = {"chrT": SEQ}
    rows = [
        snv(5),  # window runs off the contig's start
        snv(60),
        ("chrT", 70, SEQ[69:72], SEQ[69] + "".join("ACGT"[("ACGT".index(b) + 2) % 4] for b in SEQ[70:72])),  # MNV
        ("chrT", 90, SEQ[89], SEQ[89] + "GATTA"),  # 5-bp insertion
        ("chrT", 110, SEQ[109:113], SEQ[109]),  # 3-bp deletion
        ("chrT", 120, SEQ[119], "<DEL>"),  # symbolic
        (*snv(130), "LowQual"),  # filtered
        snv(140),
        snv(190),  # window runs off the contig's end
    ]
    return write_reference(folder, contigs), write_vcf(folder, contigs, rows)


def _own_causal_log_prob(adapter, sequence: str) -> float:
    """log p(sequence) from the model's own forward pass: final hidden state @ tied embeddings, no hooks."""
    tok = adapter.tokenizer.encode(sequence)
    ids = torch.from_numpy(tok.input_ids)[None]
    with torch.no_grad():
        hidden = adapter.model(ids)  # the model's full forward (final layer norm applied)
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden
        logits = hidden @ adapter.model.backbone.embeddings.word_embeddings.weight.T
        logp = torch.log_softmax(logits.double(), -1)[0]
    real = tok.spans[:, 0] >= 0
    return float(sum(logp[t - 1, tok.input_ids[t]] for t in range(1, len(tok)) if real[t] and real[t - 1]))


def _run(adapter, inputs, **kw):
    ref, vcf = inputs
    config = VariantEffectsConfig(**{"width": WIDTH, **{k: v for k, v in kw.items() if k != "sae"}})
    return variant_effects(adapter, reference=ref, vcf=vcf, regions=[Region("chrT", 0, LENGTH)],
                           head=language_model_head(adapter), sae=kw.get("sae"), config=config)


def test_llr_equals_the_models_own_summed_log_probs(hyena, inputs):
    result = _run(hyena, inputs, chunk=3)
    ref, vcf = inputs
    pairs = {r.meta["variant"]: (r, a) for r, a in variant_windows(ref, vcf, [Region("chrT", 0, LENGTH)],
                                                                      width=WIDTH)}
    assert set(result.table["method"]) == {"llr"}
    assert list(result.table["kind"]) == ["snv", "mnv", "ins", "del", "snv"]
    for row in result.table.itertuples():
        r, a = pairs[row.variant]
        expected = _own_causal_log_prob(hyena, a.sequence) - _own_causal_log_prob(hyena, r.sequence)
        assert row.score == pytest.approx(expected, abs=1e-4)
        assert row.score != 0
    assert (result.table["cosine_distance"] > 0).all() and (result.table["l2_distance"] > 0).all()


def test_llr_of_the_real_hyenadna_tiny(inputs):
    adapter = load_adapter("hyenadna-tiny")
    result = _run(adapter, inputs)
    ref, vcf = inputs
    pairs = {r.meta["variant"]: (r, a) for r, a in variant_windows(ref, vcf, [Region("chrT", 0, LENGTH)],
                                                                      width=WIDTH)}
    for row in result.table.itertuples():
        r, a = pairs[row.variant]
        expected = _own_causal_log_prob(adapter, a.sequence) - _own_causal_log_prob(adapter, r.sequence)
        assert row.score == pytest.approx(expected, abs=1e-3)


def test_batching_does_not_change_the_scores(hyena, inputs):
    one = _run(hyena, inputs, chunk=1, batch_tokens=1)
    many = _run(hyena, inputs, chunk=64)
    np.testing.assert_allclose(one.table["score"], many.table["score"], atol=1e-4)


def _masked_logp(model, ids: list[int], masked: list[int], mask_id: int) -> torch.Tensor:
    x = torch.tensor([ids])
    x[0, masked] = mask_id
    with torch.no_grad():
        logits = model(input_ids=x, attention_mask=torch.ones_like(x)).logits[0].double()
    return torch.log_softmax(logits, -1)


def _protein_pair(ref: str, alt: str, offset: int, ref_len: int, alt_len: int) -> WindowPair:
    return WindowPair(SequenceRecord("r", ref, "protein"), SequenceRecord("a", alt, "protein"), offset, ref_len,
                      alt_len)


def _check_masked(adapter, model, vocab, *, mask_id):
    ref = "EVQLVESGGGLVQPGGSLRLSCAASGFTFS"
    sub = _protein_pair(ref, ref[:10] + "W" + ref[11:], 10, 1, 1)
    ins = _protein_pair(ref, ref[:10] + "GGG" + ref[10:27], 10, 1, 4)
    scores = score_pairs(adapter, [sub, ins], head=language_model_head(adapter), layer=-1)
    assert [s.method for s in scores] == ["masked_marginal", "pll_span"]
    tok_ref = adapter.tokenizer.encode(ref)
    at = int(np.flatnonzero(tok_ref.spans[:, 0] == 10)[0])
    lp = _masked_logp(model, list(tok_ref.input_ids), [at], mask_id)
    assert scores[0].score == pytest.approx(float(lp[at, vocab["W"]] - lp[at, vocab[ref[10]]]), abs=1e-4)
    # indel: PLL over offsets 10..13 in both windows, each residue masked on its own
    expected = 0.0
    for seq, sign in ((ins.alt.sequence, 1), (ref, -1)):
        tok = adapter.tokenizer.encode(seq)
        for pos in range(10, 14):
            t = int(np.flatnonzero(tok.spans[:, 0] == pos)[0])
            expected += sign * float(_masked_logp(model, list(tok.input_ids), [t], mask_id)[t, tok.input_ids[t]])
    assert scores[1].score == pytest.approx(expected, abs=1e-4)


def test_masked_marginal_and_pll_match_logits_read_by_hand_tiny_esm2(tmp_path):
    from tiny_models import ESM2_VOCAB
    from transformers import EsmForMaskedLM

    folder = make_esm2(tmp_path / "esm2")
    adapter = load_adapter(str(folder))
    model = EsmForMaskedLM.from_pretrained(str(folder)).eval()
    vocab = {t: i for i, t in enumerate(ESM2_VOCAB)}
    _check_masked(adapter, model, vocab, mask_id=vocab["<mask>"])


def test_masked_marginal_and_pll_match_logits_read_by_hand_antiberty():
    from transformers import BertForMaskedLM

    from genolens.adapters.packaged import resolve

    adapter = load_adapter("antiberty")
    model = BertForMaskedLM.from_pretrained(resolve("antiberty").path).eval()
    vocab = adapter.tokenizer.vocab
    _check_masked(adapter, model, vocab, mask_id=vocab["[MASK]"])


def _layer0_sae(adapter):
    cfg = make_config("topk", d_in=adapter.hidden_size, d_sae=32, k=6, seed=1,
                      provenance=Provenance(model=adapter.name, layer=0))
    return build_sae(cfg).eval()


def test_insertion_compares_downstream_bases_aligned_not_shifted(hyena, inputs):
    """Layer 0 (token embeddings) depends on each base alone: aligned bases change by exactly zero."""
    ref, vcf = inputs
    sae = _layer0_sae(hyena)
    pairs = [window_pair(r, a) for r, a in variant_windows(ref, vcf, [Region("chrT", 0, LENGTH)], width=WIDTH)]
    ins = next(p for p in pairs if p.alt_len == 6)
    (score,) = score_pairs(hyena, [ins], head=language_model_head(hyena), layer=0)
    at_variant, in_window, z_ref, z_alt = feature_changes(score, sae=sae)
    ri, ai = aligned_bases(ins.ref, ins.alt)
    off = ins.offset
    downstream = ri > off
    assert downstream.sum() == WIDTH - off - 6  # the window's right flank after the 5 inserted bases
    assert np.array_equal(ai[downstream], ri[downstream] + 5)
    np.testing.assert_allclose(z_alt[ai], z_ref[ri], atol=1e-6)  # flanks unchanged at aligned bases
    shifted = np.abs(z_alt[off + 6 :] - z_ref[off + 6 : WIDTH]).max()
    assert shifted > 1e3 * 1e-6  # comparing by window offset would report a change there
    # so the window maximum changes only where the inserted bases exceed every aligned base
    inserted = z_alt[off + 1 : off + 6].max(0)
    np.testing.assert_allclose(in_window, np.maximum(0, inserted - z_ref[ri].max(0)), atol=1e-6)
    np.testing.assert_allclose(at_variant, np.maximum(z_alt[off], inserted) - z_ref[off], atol=1e-6)


def test_feature_columns_and_tracks_with_an_sae(hyena, inputs):
    sae = _layer0_sae(hyena)
    result = _run(hyena, inputs, sae=sae, top=3)
    assert result.delta_window.shape == result.delta_variant.shape == (len(result.table), 32)
    np.testing.assert_array_equal(result.scale, 1.0)  # no labels: raw changes are ranked
    tol = VariantEffectsConfig().min_change
    assert result.meta["ranked_by"] == "window"  # the default: the maximum over the bases near the variant
    for row, delta, tracks in zip(result.table.itertuples(), result.delta_window, result.tracks, strict=True):
        best = int(np.abs(delta).argmax())
        if abs(delta[best]) > tol:
            assert row.top_feature == best and row.top_delta == pytest.approx(delta[best])
        else:
            assert row.top_feature == -1 and np.isnan(row.top_delta)
        gained = [int(x.split(":")[0]) for x in row.top_gained.split(";") if x]
        assert gained == [int(f) for f in np.argsort(-delta, kind="stable")[: len(gained)]]
        assert all(delta[f] > tol for f in gained) and len(gained) <= 3
        lost = [int(x.split(":")[0]) for x in row.top_lost.split(";") if x]
        assert all(delta[f] < -tol for f in lost)
        assert len(gained) == min(3, int((delta > tol).sum())) and len(lost) == min(3, int((delta < -tol).sum()))
        assert tracks.ref.shape == (len(tracks.features), WIDTH)


def test_skips_are_recorded_with_their_reason(hyena, inputs):
    result = _run(hyena, inputs)
    reasons = dict(zip(result.skipped["variant"], result.skipped["reason"], strict=True))
    assert reasons == {
        f"chrT:5:{SEQ[4]}>{snv(5)[3]}": "window_outside_contig",
        f"chrT:190:{SEQ[189]}>{snv(190)[3]}": "window_outside_contig",
        f"chrT:120:{SEQ[119]}><DEL>": "symbolic_allele",
        f"chrT:130:{SEQ[129]}>{snv(130)[3]}": "filtered",
    }
    assert result.meta["skipped"] == {"window_outside_contig": 2, "symbolic_allele": 1, "filtered": 1}
    assert len(result.table) + len(result.skipped) == 9


def test_every_record_is_kept_with_its_id_filter_and_end(hyena, tmp_path):
    """Without regions every VCF record is accounted for: one on a contig the reference lacks is a recorded skip,
    and the output VCF carries each record's ID, FILTER and (for a skipped <DEL>) END as the input said."""
    from genolens.report.variant_effects import read_variant_effects, write_variant_effects

    head = ["##fileformat=VCFv4.2", '##FILTER=<ID=PASS,Description="All filters passed">',
            '##FILTER=<ID=LowQual,Description="Low quality">',
            '##INFO=<ID=END,Number=1,Type=Integer,Description="End">',
            '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type">',
            f"##contig=<ID=chrT,length={LENGTH}>", "##contig=<ID=chrU,length=5000>",
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    c60, c130 = snv(60), snv(130)
    body = [f"chrT\t60\trs60\t{c60[2]}\t{c60[3]}\t50\tPASS\t.",
            f"chrT\t120\tsv1\t{SEQ[119]}\t<DEL>\t50\tPASS\tSVTYPE=DEL;END=150",
            f"chrT\t130\trs130\t{c130[2]}\t{c130[3]}\t50\tLowQual\t.",
            "chrU\t400\trsU\tA\tG\t50\tPASS\t."]
    path = tmp_path / "v.vcf"
    path.write_text("\n".join(head + body) + "\n")
    vcf = pysam.tabix_index(str(path), preset="vcf", force=True)
    ref = write_reference(tmp_path, {"chrT": SEQ})
    result = variant_effects(hyena, reference=ref, vcf=vcf, regions=None, head=language_model_head(hyena),
                             config=VariantEffectsConfig(width=WIDTH))
    skipped = result.skipped.set_index("variant")
    assert skipped.loc["chrU:400:A>G", "reason"] == "contig_not_in_reference"
    assert skipped.loc["chrU:400:A>G", "id"] == "rsU"
    assert skipped.loc[f"chrT:120:{SEQ[119]}><DEL>", "end"] == 150
    assert skipped.loc[f"chrT:130:{c130[2]}>{c130[3]}", "filter"] == "LowQual"
    assert result.meta["skipped"] == {"contig_not_in_reference": 1, "symbolic_allele": 1, "filtered": 1}
    assert list(result.table["id"]) == ["rs60"] and list(result.table["filter"]) == ["PASS"]
    out = write_variant_effects(result, out=tmp_path / "out", max_pages=0)
    with pysam.VariantFile(str(out / "variant_effects.vcf.gz")) as fh:
        records = {(r.chrom, r.pos): r for r in fh}
    assert len(records) == 4
    assert records[("chrT", 60)].id == "rs60" and list(records[("chrT", 60)].filter) == ["PASS"]
    assert records[("chrT", 120)].id == "sv1" and records[("chrT", 120)].stop == 150
    assert records[("chrT", 130)].id == "rs130" and list(records[("chrT", 130)].filter) == ["LowQual"]
    assert records[("chrU", 400)].info["GL_SKIP"] == "contig_not_in_reference"
    back = read_variant_effects(out)
    assert back.skipped.equals(result.skipped)


def test_ref_mismatch_is_an_error_or_a_recorded_skip(hyena, tmp_path):
    contigs = {"chrT": SEQ}
    wrong = "ACGT"[("ACGT".index(SEQ[99]) + 1) % 4]
    vcf = write_vcf(tmp_path, contigs, [snv(60), ("chrT", 100, wrong, SEQ[99])])
    inputs = (write_reference(tmp_path, contigs), vcf)
    with pytest.raises(ReferenceMismatchError, match="does not match the reference"):
        _run(hyena, inputs)
    result = _run(hyena, inputs, on_mismatch="skip")
    assert list(result.skipped["reason"]) == ["ref_mismatch"] and len(result.table) == 1


def test_config_and_layer_errors(hyena, inputs):
    with pytest.raises(ConfigError, match="width"):
        VariantEffectsConfig(width=1)
    with pytest.raises(ConfigError, match="on_mismatch"):
        VariantEffectsConfig(on_mismatch="ignore")
    with pytest.raises(ConfigError, match="not the SAE's layer"):
        _run(hyena, inputs, sae=_layer0_sae(hyena), layer=2)
    with pytest.raises(ConfigError, match="context"):
        _run(hyena, inputs, width=100)


def test_variant_kind():
    assert [variant_kind(r, a) for r, a in [("A", "G"), ("AC", "GT"), ("A", "AT"), ("AT", "A"), ("AT", "GCC")]] == [
        "snv", "mnv", "ins", "del", "complex"]
