// Maps a core Status to the Python exception ARCHITECTURE.md names. The exception classes are
// defined in Python (spiralkit/errors.py) so users can catch them without the extension.
#pragma once

#include <pybind11/pybind11.h>

#include "core/status.h"

namespace spiralkit {

[[noreturn]] inline void raise_status(const Status& st) {
  namespace py = pybind11;
  PyObject* type = PyExc_RuntimeError;
  py::object holder;
  switch (st.code()) {
    case StatusCode::kInvalidArgument: type = PyExc_ValueError; break;
    case StatusCode::kUnsupported:
      holder = py::module_::import("spiralkit.errors").attr("UnsupportedError");
      type = holder.ptr();
      break;
    case StatusCode::kFormatError:
      holder = py::module_::import("spiralkit.errors").attr("FormatError");
      type = holder.ptr();
      break;
    default: break;
  }
  PyErr_SetString(type, st.message().c_str());
  throw py::error_already_set();
}

inline void check(const Status& st) {
  if (!st.ok()) raise_status(st);
}

}  // namespace spiralkit
