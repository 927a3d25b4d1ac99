# The Halide-free core of ae2d: status, tensors, limits and configuration (src/core), file I/O
# (src/io: safetensors, .npy, PNG), the network graph and its passes (src/graph), configuration
# inference, the memory planner and the forward limits. The library links it; the fuzzers
# (tests/fuzz/CMakeLists.txt) build it alone with clang, without Halide.
#   ae2d_add_core(<target>): an OBJECT library of these sources; sets AE2D_CORE_SOURCES.
function(ae2d_add_core target)
  cmake_path(GET CMAKE_CURRENT_FUNCTION_LIST_DIR PARENT_PATH root)
  file(GLOB sources CONFIGURE_DEPENDS ${root}/src/core/*.cpp ${root}/src/io/*.cpp ${root}/src/graph/*.cpp)
  list(APPEND sources ${root}/src/model/config_inference.cpp ${root}/src/runtime/memory_plan.cpp
       ${root}/src/runtime/forward_limits.cpp ${root}/src/runtime/huge_pages.cpp)
  find_package(PNG REQUIRED)
  find_package(nlohmann_json 3 REQUIRED)
  add_library(${target} OBJECT ${sources})
  target_include_directories(${target} PUBLIC ${root}/include PRIVATE ${root}/src)
  target_link_libraries(${target} PUBLIC PNG::PNG nlohmann_json::nlohmann_json)
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  set(AE2D_CORE_SOURCES ${sources} PARENT_SCOPE)
endfunction()
