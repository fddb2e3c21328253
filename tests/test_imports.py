"""What the API process loads: not the image-analysis libraries (OpenCV, NumPy, torch),
which only workers that make a smart crop or use a model need."""

from __future__ import annotations

import subprocess
import sys


def test_the_api_and_settings_load_no_analysis_library() -> None:
    probe = (
        "import sys, darkroom.app, darkroom.cli, darkroom.config, darkroom.worker.process\n"
        "print(sorted(m for m in ('cv2', 'numpy', 'torch', 'ultralytics') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
