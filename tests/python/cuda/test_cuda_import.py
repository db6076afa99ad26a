"""Runs everywhere (no GPU needed): the CUDA module is never loaded by ``import spiralkit``."""

import subprocess
import sys


def test_import_spiralkit_does_not_load_cuda():
    code = (
        "import sys, spiralkit, spiralkit.cuda\n"
        "assert 'spiralkit._C_cuda' not in sys.modules, 'import spiralkit loaded _C_cuda'\n"
        "assert 'torch' not in sys.modules, 'import spiralkit.cuda imported torch'\n"
        "print(spiralkit.cuda.is_available())\n"
        "print('spiralkit._C_cuda' in sys.modules or not spiralkit.cuda.is_available())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "True"


def test_is_available_is_a_bool():
    import spiralkit.cuda

    assert spiralkit.cuda.is_available() in (True, False)


def test_device_argument_is_checked():
    import pytest

    import spiralkit.cuda as skc

    for bad in ("cpu", "cuda:x", -1, True, 1.5):
        with pytest.raises(ValueError, match="device"):
            skc._device_index(bad)
    assert skc._device_index("cuda:1") == 1 and skc._device_index("cuda") == 0 and skc._device_index(2) == 2


def test_to_device_without_a_gpu_is_unsupported():
    import numpy as np
    import pytest

    import spiralkit
    import spiralkit.cuda as skc

    if skc.is_available():
        pytest.skip("a CUDA device is present: the unsupported path cannot be reached here")
    w = spiralkit.pack(np.ones((4, 4), np.float32), "dense")
    with pytest.raises(spiralkit.UnsupportedError, match="_C_cuda|CUDA device"):
        skc.to_device(w)


def test_sparse_weight_to_cpu_is_itself_and_cuda_without_a_gpu_is_unsupported():
    import numpy as np
    import pytest

    import spiralkit
    import spiralkit.cuda as skc

    w = spiralkit.pack(np.eye(8, dtype=np.float32), "unstructured")
    assert w.to("cpu") is w
    with pytest.raises(ValueError, match="^dtype"):
        w.to("cpu", "float16")
    with pytest.raises(ValueError, match="^device"):
        w.to("tpu")
    if skc.is_available():
        pytest.skip("a CUDA device is present: the unsupported path cannot be reached here")
    for dtype in (None, "float16", "bfloat16"):
        with pytest.raises(spiralkit.UnsupportedError, match="_C_cuda|CUDA device"):
            w.to("cuda", dtype)


def test_dtype_and_kernel_arguments_are_checked():
    import pytest

    import spiralkit.cuda as skc

    assert skc._dtype_name(None) == "float32" and skc._dtype_name("half") == "float16"
    assert skc._dtype_name("torch.bfloat16") == "bfloat16"
    for bad in ("int8", "float64", 3):
        with pytest.raises(ValueError, match="^dtype"):
            skc._dtype_name(bad)
    assert [skc._mode_code(k) for k in ("auto", "sparse", "dense")] == [0, 1, 2]
    with pytest.raises(ValueError, match="^kernel"):
        skc._mode_code("fastest")
