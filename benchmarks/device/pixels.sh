#!/usr/bin/env bash
# One call on a lent GPU machine (benchmarks/device/README.md): install the carried wheels, point
# MuJoCo's EGL at the NVIDIA driver, then run pixels.py with the arguments given here.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD
mkdir -p "$OUT/logs"
nvidia-smi --query-gpu=name,driver_version,memory.used --format=csv > "$OUT/logs/gpu.txt" 2>&1
# The glvnd loader (carried in .gl, used only where the image has none) and a vendor file for
# the NVIDIA driver's EGL.
nv=$(find / -xdev \( -path /proc -o -path /sys \) -prune -o -name 'libEGL_nvidia.so.0' -print 2>/dev/null | head -1)
[ -z "$nv" ] && nv=$(find /usr/local/nvidia /usr/lib* -name 'libEGL_nvidia.so*' 2>/dev/null | head -1)
echo "libEGL_nvidia: ${nv:-none}" >> "$OUT/logs/gpu.txt"
ldconfig -p | grep -E 'libEGL|libOpenGL' >> "$OUT/logs/gpu.txt"
if [ -n "$nv" ]; then
  printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s"}}\n' "$nv" > /tmp/10_nvidia.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/tmp/10_nvidia.json
  export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$(dirname "$nv"):$PWD/.gl
fi
export MUJOCO_GL=egl PYOPENGL_PLATFORM=egl
python3 benchmarks/device/pixels.py "$@"
