"""Service configuration: defaults, file, environment and explicit overrides, in that order."""

from __future__ import annotations

from pathlib import Path

import pytest

from ketamine_ed_kg.config import ServiceConfig, load_config
from ketamine_ed_kg.errors import ConfigError
from ketamine_ed_kg.paths import ProjectPaths


def test_defaults() -> None:
    config = load_config(environ={})
    assert config.host == "127.0.0.1" and config.port == 5000
    assert config.deadline == 30.0 and config.row_cap == 10000
    assert config.store == "memory" and config.allowed_service_prefixes == ()


def test_precedence_file_env_overrides(tmp_path: Path) -> None:
    toml = tmp_path / "service.toml"
    toml.write_text('[service]\nport = 6000\ndeadline = 10\nrow_cap = 50\n'
                    'allowed_service_prefixes = ["https://query.wikidata.org/"]\n')
    env = {"KETAMINE_ED_KG_CONFIG": str(toml), "KETAMINE_ED_KG_DEADLINE": "5",
           "KETAMINE_ED_KG_GZIP": "false"}
    config = load_config({"row_cap": 7}, environ=env)
    assert config.port == 6000  # file
    assert config.deadline == 5.0  # environment beats file
    assert config.row_cap == 7  # explicit beats everything
    assert config.gzip is False
    assert config.allowed_service_prefixes == ("https://query.wikidata.org/",)


def test_ini_file_and_lists(tmp_path: Path) -> None:
    ini = tmp_path / "service.ini"
    ini.write_text("[service]\nstore = disk\nallowed_graph_prefixes = urn:a:, urn:b:\n")
    config = load_config({"config_file": ini}, environ={})
    assert config.store == "disk"
    assert config.allowed_graph_prefixes == ("urn:a:", "urn:b:")
    assert config.disk_store_path() == config.dataset_path().parent / "oxigraph-store"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"store": "tape"}, "store"), ({"deadline": "-1"}, "deadline"), ({"port": -1}, "port"),
    ({"port": 65536}, "port"), ({"workers": 0}, "workers"), ({"gzip": "maybe"}, "boolean"),
    ({"colour": "red"}, "unknown"), ({"row_cap": "many"}, "row_cap"),
])
def test_invalid_values(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(overrides, environ={})


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(environ={"KETAMINE_ED_KG_CONFIG": "/nonexistent/ked.toml"})


def test_every_field_is_documented(sources: ProjectPaths) -> None:
    doc = (sources.root / "docs" / "configuration.md").read_text(encoding="utf-8")
    for name in ServiceConfig.__dataclass_fields__:
        assert f"`{name}`" in doc, name
