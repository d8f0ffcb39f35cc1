# Kokkos as an installed package (Debian's Trilinos Kokkos here, a site/Spack build elsewhere:
# -DKokkos_ROOT=...). Shared by the whole project and by kokkos_kernels/ built on its own, so both
# see the same fix-up.
find_package(Kokkos 3.4 REQUIRED)
# Debian/Trilinos 13.2 exports a non-existent include dir on Kokkos::kokkos; no-op upstream.
get_target_property(_kk_inc Kokkos::kokkos INTERFACE_INCLUDE_DIRECTORIES)
if(_kk_inc AND Kokkos_INCLUDE_DIRS AND NOT EXISTS "${_kk_inc}/Kokkos_Core.hpp")
  set_property(TARGET Kokkos::kokkos PROPERTY INTERFACE_INCLUDE_DIRECTORIES ${Kokkos_INCLUDE_DIRS})
endif()
