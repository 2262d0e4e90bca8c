"""Float32 depth files (one per frame): .npy, .exr (OpenEXR, channel 'Z' or the first one), .tif/.tiff.

EXR goes through the `OpenEXR` package (OpenCV wheels may be built without EXR support); TIFF
through OpenCV, which writes and reads 32-bit float TIFF as is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from capture.errors import CaptureError, raise_if_transient

FLOAT_EXTS = {"npy": ".npy", "exr": ".exr", "tiff": ".tiff"}


def write_float(path: str | Path, depth: np.ndarray) -> None:
    path = Path(path)
    a = np.ascontiguousarray(depth, dtype=np.float32)
    ext = path.suffix.lower()
    if ext == ".npy":
        np.save(path, a)
    elif ext == ".exr":
        import OpenEXR

        header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
        with OpenEXR.File(header, {"Z": a}) as f:
            f.write(str(path))
    elif ext in (".tif", ".tiff"):
        import cv2

        if not cv2.imwrite(str(path), a):
            raise CaptureError(path, "OpenCV could not write a float32 TIFF")
    else:
        raise CaptureError(path, f"unknown float depth extension {ext!r} (expected .npy, .exr, .tif, .tiff)")


def read_float(path: str | Path, frame: int | None = None, nonfinite: str = "error") -> np.ndarray:
    """HxW float32. NaN or inf in the file: with nonfinite="error" an error naming the file and the
    frame; with "nan" they are returned as they are (the reader makes them invalid pixels, NaN).
    A transient OSError is raised as TransientError, an unreadable file as CaptureError."""
    path = Path(path)
    where = f"frame {frame}: " if frame is not None else ""
    if not path.exists():
        raise CaptureError(path, f"{where}float depth file not found")
    ext = path.suffix.lower()
    try:
        if ext == ".npy":
            a = np.load(path, allow_pickle=False)
        elif ext == ".exr":
            import OpenEXR

            with OpenEXR.File(str(path)) as f:
                ch = f.channels()
                key = "Z" if "Z" in ch else ("R" if "R" in ch else next(iter(ch)))
                a = np.array(ch[key].pixels)
        elif ext in (".tif", ".tiff"):
            import cv2

            a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if a is None:
                raise ValueError("OpenCV cannot read it")
        else:
            raise CaptureError(path, f"unknown float depth extension {ext!r}")
    except CaptureError:
        raise
    except Exception as e:  # each reader has its own error types; all mean "unreadable"
        raise_if_transient(e, path, f"{where}cannot read float depth")
        raise CaptureError(path, f"{where}cannot read float depth (truncated or corrupt?): {e}") from None
    if a.ndim == 3:
        a = a[..., 0]
    if a.ndim != 2 or not np.issubdtype(a.dtype, np.floating):
        raise CaptureError(path, f"{where}float depth must be a 2-D float array, got {a.dtype} {a.shape}")
    bad = ~np.isfinite(a)
    if nonfinite == "error" and bad.any():
        kind = "NaN" if np.isnan(a).any() else "inf"
        raise CaptureError(path, f"{where}float depth contains {kind} at {int(bad.sum())} pixels "
                                 "(store sky/invalid as 1.0, not NaN/inf)")
    return a.astype(np.float32, copy=False)
