# scan-as: plugins/builtin/large_faces.py
class LargeFaces(FaceDetectionPlugin):
    def warm_up(self):
        return super().run({})  # expect: EXE001
