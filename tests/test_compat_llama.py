"""The llama.cpp AMX work-around: applied where the CPU reports AMX, never elsewhere."""

import pytest

llama_low = pytest.importorskip("llama_cpp.llama_cpp")


@pytest.fixture
def fresh_defaults(monkeypatch):
    monkeypatch.setattr(llama_low, "llama_model_default_params", llama_low.llama_model_default_params)
    monkeypatch.delenv("WORLDGEN_LLAMA_EXTRA_BUFTS", raising=False)


def test_amx_machines_load_weights_without_extra_buffer_types(monkeypatch, fresh_defaults):
    from worldgen import compat

    monkeypatch.setattr(compat, "cpu_has_amx", lambda: True)
    assert llama_low.llama_model_default_params().use_extra_bufts  # llama.cpp's own default
    assert compat.llama_cpp_without_amx()
    assert compat.llama_cpp_without_amx()  # idempotent: wrapped once
    assert not llama_low.llama_model_default_params().use_extra_bufts


@pytest.mark.parametrize("amx,env", [(False, None), (True, "1")])
def test_left_alone_without_amx_or_when_asked(monkeypatch, fresh_defaults, amx, env):
    from worldgen import compat

    monkeypatch.setattr(compat, "cpu_has_amx", lambda: amx)
    if env:
        monkeypatch.setenv("WORLDGEN_LLAMA_EXTRA_BUFTS", env)
    assert not compat.llama_cpp_without_amx()
    assert llama_low.llama_model_default_params().use_extra_bufts
