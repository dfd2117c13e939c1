"""One config per SAE architecture, beside the shared settings: an option that does not apply is refused."""

from __future__ import annotations

import json

import pytest

from genolens.errors import ConfigError
from genolens.sae.config import ARCHITECTURES, CONFIGS, SAEConfig, config_from_dict, make_config, options
from genolens.sae.registry import REGISTRY, build_sae
from genolens.sae.sweep import sweep_configs


def test_registry_and_configs_list_the_same_architectures():
    assert set(REGISTRY) == set(CONFIGS) == set(ARCHITECTURES)
    for name, cls in REGISTRY.items():
        assert cls.config_class is CONFIGS[name]
        assert build_sae(make_config(name, d_in=8, d_sae=32)).cfg.architecture == name


@pytest.mark.parametrize(
    ("architecture", "setting"),
    [("relu", {"k": 8}), ("topk", {"l1_coeff": 1.0}), ("jumprelu", {"prefixes": (4, 32)}), ("topk", {"bogus": 1})],
)
def test_a_setting_of_another_architecture_is_refused(architecture, setting):
    with pytest.raises(ConfigError, match="not apply to " + architecture):
        make_config(architecture, d_in=8, d_sae=32, **setting)


def test_each_architecture_validates_its_own_settings():
    with pytest.raises(ConfigError, match="k .9. must be <= d_sae .8."):
        make_config("topk", d_in=4, d_sae=8, k=9)
    with pytest.raises(ConfigError, match="l1_coeff must be >= 0"):
        make_config("relu", d_in=4, d_sae=8, l1_coeff=-1)
    with pytest.raises(ConfigError, match="prefixes must increase"):
        make_config("matryoshka", d_in=4, d_sae=16, k=2, prefixes=(8, 4, 16))
    with pytest.raises(ConfigError, match="make_config"):
        SAEConfig(d_in=4, d_sae=8)  # the shared part alone is no SAE


def test_options_name_only_what_each_architecture_has():
    assert options("relu") == ("l1_coeff", "l1_warmup_fraction")
    assert "k" in options("topk") and "l1_coeff" not in options("topk")
    assert "prefixes" in options("matryoshka") and "prefixes" not in options("batchtopk")


def test_configs_round_trip_and_old_flat_configs_still_load():
    for name in ARCHITECTURES:
        cfg = make_config(name, d_in=8, d_sae=32, seed=2)
        assert config_from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    # a checkpoint written before per-architecture configs holds every architecture's keys
    flat = {"architecture": "relu", "d_in": 8, "d_sae": 32, "k": 32, "l1_coeff": 2.0, "l1_warmup_fraction": 0.05,
            "l0_coeff": 1.0, "jumprelu_bandwidth": 0.05, "threshold_lr_scale": 10.0, "prefixes": [],
            "aux_k": 4, "aux_coeff": 0.03125, "dead_after_tokens": 1000000, "threshold_momentum": 0.99,
            "b_dec_init": "geometric_median", "seed": 0, "name": "relu_w32_k32_s0",
            "provenance": {"model": "m", "model_hash": "", "layer": 1, "tokenizer": "", "store": ""}}
    cfg = config_from_dict(flat)
    assert type(cfg).__name__ == "ReLUConfig" and cfg.l1_coeff == 2.0 and cfg.name == "relu_w32_k32_s0"
    with pytest.raises(ConfigError, match="unknown SAE config keys"):
        config_from_dict({**flat, "colour": "red"})


def test_a_sweep_sets_each_option_only_where_it_applies():
    cfgs = sweep_configs(["topk", "relu"], d_in=8, k=[2, 4], width=32, seed=0, l1_coeff=3.0)
    assert [c.name for c in cfgs] == ["topk_w32_k2_s0", "topk_w32_k4_s0", "relu_w32_l1-3_s0"]
    with pytest.raises(ConfigError, match="k does not apply to relu"):
        sweep_configs("relu", d_in=8, k=4, width=32)
    with pytest.raises(ConfigError, match="l1_coeff does not apply to topk"):
        sweep_configs("topk", d_in=8, width=32, l1_coeff=1.0)
