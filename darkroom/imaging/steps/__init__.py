"""The steps of rendering one output, each in a module of its own, in the order the
pipeline (imaging/render.py) applies them: orient (EXIF, then rotate and flip), trim,
cut (region, then the op's crop) and resize, pad, filter (blur, sharpen), watermark;
encoding (imaging/encode.py) comes last."""
