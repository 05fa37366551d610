"""Streaming inference: mel frames in chunks, audio out, equal to whole-utterance inference.

Each chunk of mel frames is run with enough real frames on its left and right
(the generator's receptive field, measured once by perturbing one frame of a
random mel) that its samples equal those of running the whole utterance; the
context samples are cut off. The first chunk starts at the utterance's start
and the last ends at its end, so the generator's own boundary padding is the
same as in whole-utterance inference. The joined output has exactly
``frames * hop`` samples.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


@torch.no_grad()
def receptive_field(generator: nn.Module, n_mels: int = 80, margin: int = 1) -> tuple[int, int]:
    """``(left, right)``: the mel frames before and after a frame that its samples depend on.

    Measured on ``generator`` by changing one frame of a random mel and seeing which
    output frames change, plus ``margin`` frames each side.
    """
    hop = generator.hop_length
    frames = 32
    while True:
        draw = torch.Generator().manual_seed(0)
        parameter = next(generator.parameters())
        mel = torch.randn(1, n_mels, frames, generator=draw).to(parameter)
        centre = frames // 2
        changed = mel.clone()
        changed[..., centre] += 3.0 * torch.randn(n_mels, generator=draw).to(parameter)
        difference = (generator(mel) - generator(changed)).abs().reshape(frames, hop).amax(1)
        affected = torch.nonzero(difference > 0).flatten().tolist()
        first, last = (affected[0], affected[-1]) if affected else (centre, centre)
        if first > 0 and last < frames - 1:
            # a sample of output frame f depends on input frames f - left ... f + right
            return last - centre + margin, centre - first + margin
        frames *= 2
        if frames > 4096:
            raise ValueError("the generator's receptive field spans more than 2048 frames")


class StreamingVocoder:
    """Feed mel frames as they come; get the audio that is final so far.

    Args:
        generator: an inference generator (eval mode, weight norm folded in).
        chunk_frames: frames synthesised per generator call (besides the context).
        context: ``(left, right)`` context frames; default :func:`receptive_field`.

    Example::

        stream = StreamingVocoder(vocoder.inference_generator())
        for frames in mel_chunks:                 # (B, n_mels, any number of frames)
            play(stream.feed(frames))            # (B, samples ready), maybe 0
        play(stream.finish())
    """

    def __init__(
        self,
        generator: nn.Module,
        chunk_frames: int = 32,
        context: tuple[int, int] | None = None,
    ) -> None:
        if chunk_frames < 1:
            raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
        self.generator, self.chunk_frames = generator, chunk_frames
        self.hop = generator.hop_length
        n_mels = self._n_mels(generator)
        self.left, self.right = (
            context if context is not None else receptive_field(generator, n_mels)
        )
        self.reset()

    @staticmethod
    def _n_mels(generator: nn.Module) -> int:
        first = next(m for m in generator.modules() if isinstance(m, nn.Conv1d))
        return first.in_channels

    def reset(self) -> None:
        """Start a new utterance."""
        self.buffer: Tensor | None = None  # frames kept, from absolute index `offset`
        self.offset = 0  # absolute index of the buffer's first frame
        self.received = 0  # frames received so far
        self.emitted = 0  # frames whose audio has been returned

    def feed(self, mel: Tensor) -> Tensor:
        """Add frames ``(B, n_mels, n)``; return the audio ``(B, samples)`` now final."""
        if mel.dim() != 3:
            raise ValueError(f"mel must be (B, n_mels, frames), got shape {tuple(mel.shape)}")
        self.buffer = mel if self.buffer is None else torch.cat([self.buffer, mel], -1)
        self.received += mel.size(-1)
        pieces = []
        while self.received - self.emitted >= self.chunk_frames + self.right:
            pieces.append(self._emit(self.emitted + self.chunk_frames, at_end=False))
        return self._join(pieces, mel)

    def finish(self) -> Tensor:
        """The rest of the utterance's audio (its end is now known); then :meth:`reset`."""
        if self.buffer is None:
            raise ValueError("no mel frames were fed")
        pieces = []
        while self.emitted < self.received:
            pieces.append(self._emit(min(self.emitted + self.chunk_frames, self.received), True))
        audio = self._join(pieces, self.buffer)
        self.reset()
        return audio

    def _emit(self, end: int, at_end: bool) -> Tensor:
        """Audio of frames ``emitted ... end`` with its context, then drop frames not needed."""
        start = self.emitted
        lo = max(0, start - self.left)
        hi = self.received if at_end else min(self.received, end + self.right)
        window = self.buffer[..., lo - self.offset : hi - self.offset]
        with torch.no_grad():
            audio = self.generator(window).reshape(window.size(0), -1)
        piece = audio[:, (start - lo) * self.hop : (end - lo) * self.hop]
        self.emitted = end
        keep_from = max(self.offset, end - self.left)
        self.buffer = self.buffer[..., keep_from - self.offset :]
        self.offset = keep_from
        return piece

    def _join(self, pieces: list[Tensor], like: Tensor) -> Tensor:
        if pieces:
            return torch.cat(pieces, -1)
        return like.new_zeros(like.size(0), 0)


def synthesize_streaming(
    generator: nn.Module,
    mel: Tensor,
    chunk_frames: int = 32,
    context: tuple[int, int] | None = None,
    feed_frames: int | None = None,
) -> Tensor:
    """Whole-utterance audio ``(B, frames * hop)`` of ``mel`` ``(B, n_mels, frames)``,
    synthesised in chunks (fed ``feed_frames`` at a time, default all at once)."""
    stream = StreamingVocoder(generator, chunk_frames, context)
    step = feed_frames or mel.size(-1)
    pieces = [stream.feed(mel[..., i : i + step]) for i in range(0, mel.size(-1), step)]
    pieces.append(stream.finish())
    return torch.cat(pieces, -1)
