"""Finding what matters in a picture: saliency, entropy and faces, as crop windows with a
score. Pure: RGB arrays in, boxes out; nothing of the service, nothing downloaded (the face
model is the cascade that ships inside OpenCV's wheel)."""

from darkroom.smart.analyzer import Analyzer
from darkroom.smart.types import CropChoice, SmartMethod

__all__ = ["Analyzer", "CropChoice", "SmartMethod"]
