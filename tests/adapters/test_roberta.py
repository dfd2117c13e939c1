"""RoBERTa family: fairseq checkpoints (Sapiens) converted without fairseq, transformers folders; the real Sapiens."""

from __future__ import annotations

import fractions
import json
from pathlib import Path

import pytest
import torch
from fairseq_reference import fairseq_hidden
from safetensors.torch import load_file
from tiny_models import make_roberta

from genolens.adapters import load_adapter
from genolens.adapters.fairseq_roberta import read_fairseq_checkpoint
from genolens.adapters.packaged import resolve
from genolens.adapters.roberta import RobertaAdapter
from genolens.errors import InputFileError
from genolens.io.records import SequenceRecord

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "sapiens"
PROTEINS = ["EVQLVESGGGLVQPGG", "DIQMTQSPSS", "QVQLQESGPGLVKPSETLSLTCAVSG", "EVQLXESGG"]
# real variable domains (Abagovomab heavy and light chain, Thera-SAbDab), as in the AntiBERTy fixture
_ANTIBODY = json.loads((Path(__file__).resolve().parents[1] / "data" / "antiberty" / "reference.json").read_text())
CHAINS = dict(zip(("sapiens-vh", "sapiens-vl"), _ANTIBODY["sequences"][:2], strict=True))


def _check_against_fairseq(adapter, checkpoint, records, layers, heads):
    _, state = read_fairseq_checkpoint(checkpoint)
    result = adapter.embed(records, layers=layers, batch_tokens=64)
    for rec, acts in zip(records, result.sequences, strict=True):
        ids = torch.from_numpy(adapter.tokenizer.encode(rec.sequence).input_ids)
        hidden = fairseq_hidden(state, ids, heads=heads)
        for layer in layers:
            torch.testing.assert_close(acts.layers[layer], hidden[layer][1:-1], atol=1e-5, rtol=0)
    return result


def test_fairseq_checkpoint_matches_plain_fairseq_encoder(fairseq_roberta_dir):
    ckpt = fairseq_roberta_dir / "checkpoint.pt"
    adapter = load_adapter(ckpt)  # a .pt path: no config.json, the family comes from the file
    assert isinstance(adapter, RobertaAdapter) and adapter.num_layers == 2 and adapter.max_tokens == 40
    records = [SequenceRecord(f"p{i}", s, "protein") for i, s in enumerate(PROTEINS)]
    result = _check_against_fairseq(adapter, ckpt, records, [0, 1, 2], heads=4)
    assert result.padded_tokens > result.real_tokens
    vocab = adapter.tokenizer.vocab
    ids = adapter.tokenizer.encode("EVX").input_ids.tolist()
    assert ids == [vocab["<s>"], vocab["E"], vocab["V"], vocab["<mask>"], vocab["</s>"]]  # X read as <mask>


def test_roberta_folder_matches_transformers(tmp_path):
    from transformers import RobertaForMaskedLM

    folder = make_roberta(tmp_path / "roberta")
    adapter = load_adapter(folder)
    assert adapter.family == "roberta" and adapter.max_tokens == 40
    model = RobertaForMaskedLM.from_pretrained(str(folder)).eval()
    records = [SequenceRecord(f"p{i}", s, "protein") for i, s in enumerate(PROTEINS)]
    for rec, acts in zip(records, adapter.embed(records, layers=[0, 2]).sequences, strict=True):
        ids = adapter.tokenizer.encode(rec.sequence).input_ids
        with torch.no_grad():
            hidden = model(input_ids=torch.from_numpy(ids)[None], output_hidden_states=True).hidden_states
        for layer in (0, 2):
            torch.testing.assert_close(acts.layers[layer], hidden[layer][0, 1:-1], atol=1e-5, rtol=0)


def test_bad_fairseq_checkpoints_are_refused(fairseq_roberta_dir, tmp_path):
    args, state = read_fairseq_checkpoint(fairseq_roberta_dir / "checkpoint.pt")
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "dict.txt").write_text((fairseq_roberta_dir / "dict.txt").read_text())
    gap = {k: v for k, v in state.items() if "layers.1.fc2" not in k}
    torch.save({"args": args, "model": gap}, folder / "gap.pt")
    with pytest.raises(InputFileError, match="do not match the architecture"):
        load_adapter(folder / "gap.pt")
    torch.save({"model": state}, folder / "noargs.pt")
    with pytest.raises(InputFileError, match="not a fairseq checkpoint"):
        load_adapter(folder / "noargs.pt")
    torch.save({"args": args, "model": state, "evil": fractions.Fraction(1, 3)}, folder / "unsafe.pt")
    with pytest.raises(InputFileError, match="cannot read the fairseq checkpoint"):
        load_adapter(folder / "unsafe.pt")  # anything beyond Namespace and tensors is not unpickled
    (folder / "dict.txt").write_text("A 1\nC 1\n")
    torch.save({"args": args, "model": state}, folder / "ok.pt")
    with pytest.raises(InputFileError, match="dictionary has 7 tokens, the checkpoint 25"):
        load_adapter(folder / "ok.pt")


@pytest.mark.parametrize("name", ["sapiens-vh", "sapiens-vl"])
def test_sapiens_matches_plain_fairseq_encoder(name):
    """The real Sapiens through genolens equals fairseq's encoder computed from the checkpoint's tensors (1e-5)."""
    adapter = load_adapter(name)
    args, _ = read_fairseq_checkpoint(resolve(name).path)
    assert (adapter.num_layers, adapter.hidden_size, adapter.max_tokens) == (4, 128, args.max_positions)
    rec = SequenceRecord(name, CHAINS[name], "protein")
    _check_against_fairseq(adapter, resolve(name).path, [rec], [0, 2, 4], heads=8)


def test_sapiens_matches_package_runner():
    """The real Sapiens through genolens equals sapiens' own runner (fairseq; fixture from make_reference.py)."""
    meta = json.loads((FIXTURE / "reference.json").read_text())
    ref = load_file(str(FIXTURE / "reference.safetensors"))
    for k, (rid, seq, name) in enumerate(zip(meta["ids"], meta["sequences"], meta["models"], strict=True)):
        acts = load_adapter(name).embed([SequenceRecord(rid, seq, "protein")], layers=meta["layers"]).sequences[0]
        for layer in meta["layers"]:
            expected = ref[f"emb_L{layer}_{k}"]
            assert expected.shape == (len(seq), 128)  # the runner drops <s> and </s>
            torch.testing.assert_close(acts.layers[layer], expected, atol=1e-5, rtol=0)
