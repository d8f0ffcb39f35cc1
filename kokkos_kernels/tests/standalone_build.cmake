# ctest's kernels_standalone: configures kokkos_kernels/ as its own project against the Kokkos the
# main build found, builds its tests and runs them, so "the kernels build alone" is checked in CI
# and not only on a GPU machine. Benchmarks stay off here (the main build compiles them).
# Arguments: SOURCE, BINARY, Kokkos_DIR, CXX, BUILD_TYPE.
function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "kernels_standalone: ${step} failed (${rc}):\n${out}")
  endif()
  message(STATUS "kernels_standalone: ${step} ok")
endfunction()

run(configure ${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY} -DKokkos_DIR=${Kokkos_DIR}
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DVELOFIELD_WERROR=ON
    -DVELOFIELD_BUILD_TESTS=ON -DVELOFIELD_BUILD_BENCHMARKS=OFF)
run(build ${CMAKE_COMMAND} --build ${BINARY} -j2 --target velofield_kernel_tests)
run(test ${CMAKE_CTEST_COMMAND} --test-dir ${BINARY} --output-on-failure -R "^kernels$")
