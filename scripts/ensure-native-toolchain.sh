#!/usr/bin/env bash
# Makes sure the native toolchain that native AOT publishing needs is installed (NativeAotTests publishes samples/AotAgent
# with PublishAot): a C compiler and linker the .NET ILCompiler drives (clang, or gcc, which it falls back to) and zlib's
# development files. Installs Debian's gcc and zlib1g-dev with apt-get when they are missing and this runs as root;
# otherwise says what to do.
set -euo pipefail

has_toolchain() {
  { command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1; } && [ -e /usr/include/zlib.h ]
}

if has_toolchain; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-native-toolchain: installing Debian's gcc and zlib1g-dev for the native AOT test" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends gcc libc6-dev zlib1g-dev >/dev/null
  has_toolchain && exit 0
fi

echo "ensure-native-toolchain: a C compiler (clang or gcc) or zlib's headers are missing. Install them (sudo apt-get install gcc zlib1g-dev) to run the native AOT test." >&2
exit 1
