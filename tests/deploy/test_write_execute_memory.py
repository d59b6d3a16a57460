"""Evidence for MemoryDenyWriteExecute= in the units: which of our runtimes need W+X memory.

Each check runs in a child process that first turns on the kernel's own write-xor-execute lock
(prctl PR_SET_MDWE, Linux 6.3+), which refuses the same mappings systemd's MemoryDenyWriteExecute=
refuses: memory that is writable and then made executable. Central's whole stack must work under it
(its units set MemoryDenyWriteExecute=yes); OpenVINO's JIT must not, which is why anpr-edge.service
leaves it off. If OpenVINO ever stops needing W+X, the last test fails: turn the directive on.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1

LOCK = textwrap.dedent(
    f"""
    import ctypes, os
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0) != 0:
        raise SystemExit(f"prctl(PR_SET_MDWE) failed: {{os.strerror(ctypes.get_errno())}}")
    """
)


def _run_locked(body: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LOCK + textwrap.dedent(body)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def _kernel_has_mdwe() -> bool:
    return _run_locked("").returncode == 0


pytestmark = pytest.mark.skipif(
    not _kernel_has_mdwe(), reason="kernel lacks prctl(PR_SET_MDWE) (Linux < 6.3)"
)


def test_the_lock_refuses_write_then_execute_memory() -> None:
    # The control: without this, a passing stack test would prove nothing.
    result = _run_locked(
        """
        import mmap
        m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        """
    )
    assert result.returncode != 0
    assert "PermissionError" in result.stderr or "Operation not permitted" in result.stderr


def test_central_stack_runs_without_write_execute_memory() -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("argon2")
    result = _run_locked(
        """
        import fastapi, uvicorn, psycopg, sqlalchemy, jwt, paho.mqtt.client, yaml, pydantic
        from argon2 import PasswordHasher
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        hasher = PasswordHasher()
        assert hasher.verify(hasher.hash("secret"), "secret")
        key = AESGCM.generate_key(bit_length=256)
        nonce = bytes(12)
        assert AESGCM(key).decrypt(nonce, AESGCM(key).encrypt(nonce, b"plate", None), None) == b"plate"
        with sqlalchemy.create_engine("sqlite://").connect() as connection:
            assert connection.exec_driver_sql("select 1").scalar() == 1
        token = jwt.encode({"sub": "admin"}, "k" * 32, algorithm="HS256")
        assert jwt.decode(token, "k" * 32, algorithms=["HS256"]) == {"sub": "admin"}
        print("ok")
        """
    )
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr[-2000:]


@pytest.fixture(scope="module")
def conv_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.ones((4, 3, 3, 3), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 32, 32])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path_factory.mktemp("mdwe") / "conv.onnx"
    onnx.save(model, str(path))
    return path


def test_onnxruntime_runs_without_write_execute_memory(conv_model: Path) -> None:
    pytest.importorskip("onnxruntime")
    result = _run_locked(
        f"""
        import numpy as np, onnxruntime as ort
        session = ort.InferenceSession({str(conv_model)!r}, providers=["CPUExecutionProvider"])
        out = session.run(None, {{"x": np.ones((1, 3, 32, 32), np.float32)}})[0]
        assert out.shape == (1, 4, 32, 32) and float(out[0, 0, 5, 5]) == 27.0
        print("ok")
        """
    )
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr[-2000:]


def test_openvino_needs_write_execute_memory(conv_model: Path) -> None:
    pytest.importorskip("openvino")
    result = _run_locked(
        f"""
        import openvino as ov
        core = ov.Core()
        core.compile_model(core.read_model({str(conv_model)!r}), "CPU")
        print("compiled")
        """
    )
    assert result.returncode != 0, "OpenVINO compiled under W^X: add MemoryDenyWriteExecute=yes to anpr-edge"
    assert "compiled" not in result.stdout
