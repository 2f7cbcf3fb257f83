# scan-as: plugins/builtin/large_faces.py
from plugins.builtin.faces import FaceDetectionPlugin


class LargeFaces(FaceDetectionPlugin):
    def run(self, payload):
        return super().run({**payload, "options": {"min_size": 64}})
