# CUDA: a separate module _C_cuda, built only when enabled, loaded on first CUDA use.
set(SPIRALKIT_CUDA_ENABLED OFF)
file(GLOB SPIRALKIT_CUDA_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/kernels/cuda/*.cu)
if(NOT SPIRALKIT_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER AND SPIRALKIT_CUDA_SOURCES)
    set(SPIRALKIT_CUDA_ENABLED ON)
  elseif(SPIRALKIT_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SPIRALKIT_CUDA=ON but no CUDA compiler (nvcc) or no CUDA sources were found")
  endif()
endif()
message(STATUS "spiralkit: CUDA module ${SPIRALKIT_CUDA_ENABLED}")

# The GPU architectures to build for (a list of SM numbers, e.g. "80;87;90"). Default: every
# sparse-tensor-core architecture this nvcc supports: sm_80 (A100), sm_86 (RTX 30), sm_87 (Jetson
# Orin), sm_89 (L4/L40, RTX 40), sm_90 (H100/H200), sm_100 (B200), sm_120 (RTX 50). CUDA 11.4
# (JetPack 5) stops at 87; 11.8 adds 89/90; 12.8 adds 100/120.
set(SPIRALKIT_CUDA_ARCHS "" CACHE STRING "CUDA architectures to build (e.g. 80;87;90); empty = the default set")

if(SPIRALKIT_CUDA_ENABLED)
  if(SPIRALKIT_CUDA_ARCHS)
    set(CMAKE_CUDA_ARCHITECTURES ${SPIRALKIT_CUDA_ARCHS})
  elseif(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
    execute_process(COMMAND ${CMAKE_CUDA_COMPILER} --version OUTPUT_VARIABLE _nvcc_version_text)
    string(REGEX MATCH "release ([0-9]+\\.[0-9]+)" _ "${_nvcc_version_text}")
    set(_nvcc_version "${CMAKE_MATCH_1}")
    if(_nvcc_version VERSION_GREATER_EQUAL 12.8)
      set(CMAKE_CUDA_ARCHITECTURES 80 86 87 89 90 100 120)
    elseif(_nvcc_version VERSION_GREATER_EQUAL 11.8)
      set(CMAKE_CUDA_ARCHITECTURES 80 86 87 89 90)
    else()
      set(CMAKE_CUDA_ARCHITECTURES 80 86 87)
    endif()
  endif()
  enable_language(CUDA)
  include(${CMAKE_CURRENT_LIST_DIR}/cuda_module.cmake)
endif()
