# Cross build for 64-bit Windows with Debian's mingw-w64 (posix threads:
# g++-mingw-w64-x86-64-posix), run under Wine (preset `windows`).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(_beacon_mingw x86_64-w64-mingw32)
find_program(CMAKE_C_COMPILER NAMES ${_beacon_mingw}-gcc-posix ${_beacon_mingw}-gcc REQUIRED)
find_program(CMAKE_CXX_COMPILER NAMES ${_beacon_mingw}-g++-posix ${_beacon_mingw}-g++ REQUIRED)
find_program(CMAKE_RC_COMPILER NAMES ${_beacon_mingw}-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${_beacon_mingw})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# The MinGW runtime (libstdc++, libgcc, winpthread) linked in statically, so
# the executables run under Wine without DLLs beside them.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
# ctest and add_test() run the executables through Wine.
find_program(BEACON_WINE NAMES wine64 wine)
if(BEACON_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${BEACON_WINE})
endif()
