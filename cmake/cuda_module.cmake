# The CUDA module _C_cuda (included by cmake/cuda.cmake once SPIRALKIT_CUDA_ENABLED is decided).
#   spiralkit_cuda_kernels  static library of kernels/cuda/*.cu (one kernel per file)
#   spiralkit_cuda          static library of src/cuda/*.cu: device weights, upload, launches (the
#                           CPU-side planner and packers, src/cuda/*.cc, are in spiralkit_core)
#   _C_cuda                 pybind11 module from csrc/cuda/*.cc; links the static CUDA runtime, so an
#                           installed wheel needs only the NVIDIA driver.
# No libtorch anywhere: tensors cross as DLPack capsules on the caller's stream.
find_package(CUDAToolkit REQUIRED)

if(CUDAToolkit_VERSION VERSION_LESS 11.4)
  message(FATAL_ERROR "spiralkit: the CUDA module needs CUDA 11.4 or newer, found ${CUDAToolkit_VERSION}")
endif()
message(STATUS "spiralkit: CUDA ${CUDAToolkit_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES}")

add_library(spiralkit_cuda_kernels STATIC ${SPIRALKIT_CUDA_SOURCES})
target_include_directories(spiralkit_cuda_kernels PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/kernels/cuda)
set_target_properties(spiralkit_cuda_kernels PROPERTIES
  CUDA_STANDARD 17
  CUDA_STANDARD_REQUIRED ON
  POSITION_INDEPENDENT_CODE ON
  CUDA_RUNTIME_LIBRARY Static)
# Exact IEEE fp32 (no fast math: results are compared to torch within 1e-5); quiet, small builds.
target_compile_options(spiralkit_cuda_kernels PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--extended-lambda -Xcompiler=-fvisibility=hidden>)
target_link_libraries(spiralkit_cuda_kernels PUBLIC CUDA::cudart_static)

file(GLOB SPIRALKIT_CUDA_RUNTIME_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/cuda/*.cu)
add_library(spiralkit_cuda STATIC ${SPIRALKIT_CUDA_RUNTIME_SOURCES})
set_target_properties(spiralkit_cuda PROPERTIES
  CUDA_STANDARD 17
  CUDA_STANDARD_REQUIRED ON
  POSITION_INDEPENDENT_CODE ON
  CUDA_RUNTIME_LIBRARY Static)
target_compile_options(spiralkit_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-fvisibility=hidden>)
target_link_libraries(spiralkit_cuda PUBLIC spiralkit_cuda_kernels spiralkit_core CUDA::cudart_static)

# The Python module is declared at the end of the top-level CMakeLists.txt run (cmake_language DEFER),
# when SPIRALKIT_PYTHON is known and pybind11 has been found there.
function(_spiralkit_add_cuda_module)
  if(NOT SPIRALKIT_PYTHON)
    return()
  endif()
  file(GLOB _binding_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/csrc/cuda/*.cc)
  pybind11_add_module(_C_cuda ${_binding_sources})
  target_link_libraries(_C_cuda PRIVATE spiralkit_cuda spiralkit_cuda_kernels spiralkit_core CUDA::cudart_static)
  string(REPLACE ";" " " _archs "${CMAKE_CUDA_ARCHITECTURES}")
  target_compile_definitions(_C_cuda PRIVATE SPIRALKIT_CUDA_ARCHITECTURES="${_archs}")
  if(SKBUILD)
    install(TARGETS _C_cuda LIBRARY DESTINATION spiralkit)
  else()
    # Dev build: next to the sources, like _C, so PYTHONPATH=python works.
    set_target_properties(_C_cuda PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PROJECT_SOURCE_DIR}/python/spiralkit)
  endif()
endfunction()
cmake_language(DEFER CALL _spiralkit_add_cuda_module)
