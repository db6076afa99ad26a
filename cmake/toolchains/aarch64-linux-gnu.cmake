# Cross-compile for 64-bit ARM (Raspberry Pi 4/5, Jetson CPUs) with Debian's g++-aarch64-linux-gnu;
# the C++ tests then run under qemu-aarch64 (see .ci/aarch64_tests.sh, scripts/test-aarch64.sh).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
# Header-only test framework (doctest) is found on the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/usr/aarch64-linux-gnu)

# The Python extension `_C`, when SPIRALKIT_AARCH64_PYTHON_ROOT (environment) names the root of an
# aarch64 CPython (a sysroot unpacked from Debian arm64 packages by scripts/test-aarch64.sh, whose
# usr/include/python3.X/pyconfig.h is the aarch64 one). Headers come from there; the host
# interpreter only answers FindPython's version query (same minor version), and pybind11 is told
# the target's module suffix instead of asking the host interpreter for its own.
if(DEFINED ENV{SPIRALKIT_AARCH64_PYTHON_ROOT})
  set(_spk_py_root "$ENV{SPIRALKIT_AARCH64_PYTHON_ROOT}")
  file(GLOB _spk_py_include "${_spk_py_root}/usr/include/python3.*")
  list(LENGTH _spk_py_include _spk_py_count)
  if(NOT _spk_py_count EQUAL 1)
    message(FATAL_ERROR "SPIRALKIT_AARCH64_PYTHON_ROOT=${_spk_py_root}: expected one usr/include/python3.X, "
                        "found '${_spk_py_include}' (is libpython3.X-dev:arm64 unpacked there?)")
  endif()
  get_filename_component(_spk_py_name "${_spk_py_include}" NAME)  # python3.11
  string(REPLACE "python3." "" _spk_py_minor "${_spk_py_name}")
  set(Python_INCLUDE_DIR "${_spk_py_include}" CACHE PATH "aarch64 CPython headers")
  set(PYBIND11_USE_CROSSCOMPILING ON CACHE BOOL "")
  set(PYTHON_IS_DEBUG OFF CACHE INTERNAL "")
  set(PYTHON_MODULE_DEBUG_POSTFIX "" CACHE INTERNAL "")
  set(PYTHON_MODULE_EXTENSION ".cpython-3${_spk_py_minor}-aarch64-linux-gnu.so" CACHE INTERNAL "")
endif()
