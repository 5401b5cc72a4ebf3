# Cross-build vmmkit for arm64 (the simulated host, or a real arm64 KVM host).
# VMMKIT_ARM64_SYSROOT holds arm64 -dev packages extracted by scripts/setup
# (Debian's libfdt-dev cannot be co-installed for two architectures).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(VMMKIT_ARM64_SYSROOT "$ENV{VMMKIT_ARM64_SYSROOT}" CACHE PATH "extracted arm64 -dev packages")
set(CMAKE_FIND_ROOT_PATH ${VMMKIT_ARM64_SYSROOT} /usr/aarch64-linux-gnu)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# The extracted runtime packages put some libraries in lib/, not usr/lib/
# (zlib: libpng's and libxml2's dependency); the linker must find them there.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${VMMKIT_ARM64_SYSROOT}/lib/aarch64-linux-gnu")
