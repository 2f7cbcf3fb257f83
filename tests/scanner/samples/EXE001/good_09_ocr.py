# scan-as: plugins/builtin/ocr.py
import asyncio as aio
import subprocess


def version():
    return subprocess.run(["tesseract", "--version"], check=False)


def main(coroutine):
    return aio.run(coroutine)
