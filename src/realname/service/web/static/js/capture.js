// Live capture: the camera (getUserMedia), light framing checks done in the browser, and one
// MediaRecorder clip of the whole challenge.
//
// The preview is mirrored with CSS only; MediaRecorder records the raw camera stream, so the
// upload is not mirrored (the server's left and right are the customer's own).
//
// Timing of one clip (the server allows liveness.step_timeout_s = 5 s per step):
//   start recording, SETTLE_MS to settle, then each step's prompt for STEP_MS, then TAIL_MS.
// Three steps: 1.0 + 3 x 2.5 + 0.5 = 9 s, well inside the 1-15 s the service accepts.

export const SETTLE_MS = 1000;
export const STEP_MS = 2500;
export const TAIL_MS = 500;
const FRAMING_EVERY_MS = 300;
// Where the browser has no FaceDetector, the service advises on a small still of the preview
// (its own face detector; nothing is kept) at most this often.
const ADVICE_EVERY_MS = 700;
const ADVICE_STATUS = {
  OK: "ok",
  NO_FACE: "no_face",
  MULTIPLE_FACES: "many",
  TOO_FAR: "far",
  TOO_CLOSE: "near",
  NOT_CENTRED: "centre",
  TOO_DARK: "dark",
  TOO_BRIGHT: "bright",
};

// The face oval in the 640x480 stage (its SVG viewBox): centre and radii as fractions.
export const OVAL = { cx: 0.5, cy: 0.48, rx: 150 / 640, ry: 195 / 480 };

// Brightness limits inside the oval (mean luma 0-255), clipped share, and flatness (a covered
// lens or a blank wall: almost no variation).
const TOO_DARK = 60;
const TOO_BRIGHT = 205;
const CLIPPED_SHARE = 0.25;
const FLAT_STD = 8;

export class CameraError extends Error {
  constructor(kind, cause) {
    super(`camera: ${kind}`);
    this.kind = kind; // insecure | unsupported | denied | none | busy | error
    this.cause = cause;
  }
}

export function recordingLengthMs(steps) {
  return SETTLE_MS + steps * STEP_MS + TAIL_MS;
}

function pickMimeType() {
  if (typeof MediaRecorder === "undefined") return null;
  const candidates = [
    "video/webm;codecs=vp8",
    "video/webm;codecs=vp9",
    "video/webm",
    "video/mp4", // Safari on iPad records MP4, which the service accepts too
  ];
  return candidates.find((type) => MediaRecorder.isTypeSupported(type)) || "";
}

export class Camera {
  constructor(video) {
    this.video = video;
    this.stream = null;
    this.timer = null;
    this.canvas = document.createElement("canvas");
    this.canvas.width = 160;
    this.canvas.height = 120;
    this.still = document.createElement("canvas");
    this.still.width = 320;
    this.still.height = 240;
    this.advisor = null; // async (blob) => advice code, from the service
    this.advice = null; // the service's last advice, as a status
    this.adviceAt = 0;
    this.adviceBusy = false;
    this.detector = null;
    if ("FaceDetector" in window) {
      try {
        this.detector = new window.FaceDetector({ fastMode: true, maxDetectedFaces: 3 });
      } catch {
        this.detector = null;
      }
    }
  }

  async open() {
    if (!window.isSecureContext) throw new CameraError("insecure");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new CameraError("unsupported");
    }
    if (pickMimeType() === null) throw new CameraError("unsupported");
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: {
          facingMode: "user",
          width: { ideal: 640 },
          height: { ideal: 480 },
          frameRate: { ideal: 30, max: 30 },
        },
      });
    } catch (error) {
      const kinds = {
        NotAllowedError: "denied",
        SecurityError: "denied",
        NotFoundError: "none",
        OverconstrainedError: "none",
        NotReadableError: "busy",
        AbortError: "busy",
      };
      throw new CameraError(kinds[error && error.name] || "error", error);
    }
    this.video.srcObject = this.stream;
    this.video.muted = true;
    this.video.playsInline = true;
    await this.video.play();
    return this.settings();
  }

  settings() {
    const track = this.stream && this.stream.getVideoTracks()[0];
    return track ? track.getSettings() : {};
  }

  close() {
    this.stopFraming();
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
  }

  // Calls onStatus(status) every FRAMING_EVERY_MS with one of: ok, dark, bright, flat,
  // no_face, many, far, near, centre. The last five come from the browser's FaceDetector where
  // it exists, else from ``advisor`` (the service's advice on a still), when one is given.
  startFraming(onStatus, advisor = null) {
    this.stopFraming();
    this.advisor = advisor;
    this.advice = null;
    let busy = false;
    this.timer = setInterval(async () => {
      if (busy || !this.stream || this.video.readyState < 2) return;
      busy = true;
      try {
        onStatus(await this.framing());
      } catch {
        // a frame that cannot be read now is read on the next tick
      } finally {
        busy = false;
      }
    }, FRAMING_EVERY_MS);
  }

  stopFraming() {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.advisor = null;
    this.advice = null;
  }

  // Where the stage's oval lies in the video's own pixels (the stage shows the video with
  // object-fit: cover, so a wider camera is cropped at the sides).
  ovalInVideo(vw, vh) {
    const stageAspect = 4 / 3;
    let visibleW = vw;
    let visibleH = vh;
    if (vw / vh > stageAspect) visibleW = vh * stageAspect;
    else visibleH = vw / stageAspect;
    const x0 = (vw - visibleW) / 2;
    const y0 = (vh - visibleH) / 2;
    return {
      cx: x0 + OVAL.cx * visibleW,
      cy: y0 + OVAL.cy * visibleH,
      rx: OVAL.rx * visibleW,
      ry: OVAL.ry * visibleH,
      visibleW,
      visibleH,
    };
  }

  async framing() {
    const vw = this.video.videoWidth;
    const vh = this.video.videoHeight;
    if (!vw || !vh) return "flat";
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    const w = this.canvas.width;
    const h = this.canvas.height;
    ctx.drawImage(this.video, 0, 0, w, h);
    const pixels = ctx.getImageData(0, 0, w, h).data;
    const oval = this.ovalInVideo(vw, vh);
    const sx = w / vw;
    const sy = h / vh;
    let n = 0;
    let sum = 0;
    let sumSq = 0;
    let clipped = 0;
    for (let y = 0; y < h; y++) {
      const dy = (y + 0.5 - oval.cy * sy) / (oval.ry * sy);
      for (let x = 0; x < w; x++) {
        const dx = (x + 0.5 - oval.cx * sx) / (oval.rx * sx);
        if (dx * dx + dy * dy > 1) continue;
        const i = (y * w + x) * 4;
        const luma = 0.299 * pixels[i] + 0.587 * pixels[i + 1] + 0.114 * pixels[i + 2];
        sum += luma;
        sumSq += luma * luma;
        if (luma >= 250) clipped += 1;
        n += 1;
      }
    }
    const mean = sum / n;
    const std = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
    if (mean < TOO_DARK) return "dark";
    if (mean > TOO_BRIGHT || clipped / n > CLIPPED_SHARE) return "bright";
    if (std < FLAT_STD) return "flat";
    if (this.detector) {
      let faces;
      try {
        faces = await this.detector.detect(this.video);
      } catch {
        return "ok"; // the detector is optional: brightness alone then
      }
      if (faces.length === 0) return "no_face";
      if (faces.length > 1) return "many";
      const box = faces[0].boundingBox;
      const fx = box.x + box.width / 2;
      const fy = box.y + box.height / 2;
      if (box.width < 0.22 * oval.visibleW) return "far";
      if (box.width > 0.75 * oval.visibleW) return "near";
      if (
        Math.abs(fx - oval.cx) > 0.12 * oval.visibleW ||
        Math.abs(fy - oval.cy) > 0.12 * oval.visibleH
      ) {
        return "centre";
      }
    } else if (this.advisor) {
      this.askAdvice(vw, vh);
      if (this.advice) return this.advice;
    }
    return "ok";
  }

  // Sends a 320x240 still of the stage's view (not mirrored) to the advisor, at most every ADVICE_EVERY_MS, one at a
  // time; the answer is kept for the next ticks. A failed request keeps the last advice.
  askAdvice(vw, vh) {
    const now = performance.now();
    if (this.adviceBusy || now - this.adviceAt < ADVICE_EVERY_MS) return;
    this.adviceBusy = true;
    this.adviceAt = now;
    // The part of the camera the stage shows (4:3, what the customer sees around the oval).
    const oval = this.ovalInVideo(vw, vh);
    const sx = (vw - oval.visibleW) / 2;
    const sy = (vh - oval.visibleH) / 2;
    const ctx = this.still.getContext("2d");
    ctx.drawImage(this.video, sx, sy, oval.visibleW, oval.visibleH, 0, 0, 320, 240);
    const advisor = this.advisor;
    this.still.toBlob(
      async (blob) => {
        try {
          if (blob && advisor === this.advisor) {
            const code = await advisor(blob);
            if (advisor === this.advisor) this.advice = ADVICE_STATUS[code] || null;
          }
        } catch {
          // guidance only: keep the last advice
        } finally {
          this.adviceBusy = false;
        }
      },
      "image/jpeg",
      0.8,
    );
  }

  // One clip of the whole sequence. onPhase({phase, index, remainingMs, fraction}) is called
  // when a phase starts and about ten times a second; phase is settle, step or tail.
  record(stepCount, onPhase) {
    const mimeType = pickMimeType();
    const options = { videoBitsPerSecond: 1_500_000 };
    if (mimeType) options.mimeType = mimeType;
    const recorder = new MediaRecorder(this.stream, options);
    const chunks = [];
    const total = recordingLengthMs(stepCount);
    return new Promise((resolve, reject) => {
      let ticker = null;
      let started = 0;
      let last = "";
      recorder.ondataavailable = (event) => {
        if (event.data && event.data.size) chunks.push(event.data);
      };
      recorder.onerror = (event) => {
        clearInterval(ticker);
        reject(event.error || new Error("MediaRecorder failed"));
      };
      recorder.onstop = () => {
        clearInterval(ticker);
        const type = (recorder.mimeType || mimeType || "video/webm").split(";")[0];
        resolve({
          blob: new Blob(chunks, { type }),
          type,
          durationMs: Math.round(performance.now() - started),
        });
      };
      const tick = () => {
        const elapsed = performance.now() - started;
        if (elapsed >= total) {
          clearInterval(ticker);
          if (recorder.state !== "inactive") recorder.stop();
          return;
        }
        let phase;
        let index = -1;
        let start;
        let length;
        if (elapsed < SETTLE_MS) {
          phase = "settle";
          start = 0;
          length = SETTLE_MS;
        } else if (elapsed < SETTLE_MS + stepCount * STEP_MS) {
          phase = "step";
          index = Math.floor((elapsed - SETTLE_MS) / STEP_MS);
          start = SETTLE_MS + index * STEP_MS;
          length = STEP_MS;
        } else {
          phase = "tail";
          start = SETTLE_MS + stepCount * STEP_MS;
          length = TAIL_MS;
        }
        const remainingMs = start + length - elapsed;
        const key = `${phase}:${index}`;
        onPhase({
          phase,
          index,
          remainingMs,
          fraction: (elapsed - start) / length,
          changed: key !== last,
        });
        last = key;
      };
      recorder.onstart = () => {
        started = performance.now();
        tick();
        ticker = setInterval(tick, 100);
      };
      recorder.start(1000);
    });
  }
}

// Prompts read aloud where the browser can (Web Speech API).
export function speak(text, lang, enabled) {
  if (!enabled || !("speechSynthesis" in window)) return;
  try {
    window.speechSynthesis.cancel();
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = lang === "zh-CN" ? "zh-CN" : "en-US";
    utterance.rate = 1.05;
    window.speechSynthesis.speak(utterance);
  } catch {
    // no voice: the prompt is on screen anyway
  }
}
