// Live capture: the camera (getUserMedia), light framing checks done in the browser, and one
// MediaRecorder clip of the whole challenge.
//
// The preview is mirrored with CSS only; MediaRecorder records the raw camera stream, so the
// upload is not mirrored (the server's left and right are the customer's own).
//
// Timing of one clip comes from the service, never from this page (POST .../challenge): the
// page records exactly capture_s seconds and shows each step's prompt from its prompt_s to its
// window_end_s, both counted from the moment MediaRecorder started. The server requires each
// action to begin after its prompt (plus a reaction time) and to peak before its window ends,
// and fails any other action seen outside its window, so the prompts must appear on time.

const TICK_MS = 50; // prompts are also shown by their own timers, at their exact offsets
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

// Flatness inside the oval (a covered lens or a blank wall: almost no variation). The other
// limits (brightness, clipped share, face width and centring) are the service's framing rules
// (GET /api/v1/rules: the policy's liveness.framing and probe quality limits), given to Camera.
const FLAT_STD = 8;

export class CameraError extends Error {
  constructor(kind, cause) {
    super(`camera: ${kind}`);
    this.kind = kind; // insecure | unsupported | denied | none | busy | error
    this.cause = cause;
  }
}

// What to show ``elapsedMs`` after the recording started, for a schedule of steps
// [{action, prompt_s, window_end_s}]: settle (before the first prompt), step (a prompt, until
// its window ends or the next prompt appears), wait (between windows) or tail (after the last).
export function phaseAt(steps, elapsedMs, totalMs) {
  const at = elapsedMs / 1000;
  const first = steps.length ? steps[0].prompt_s : totalMs / 1000;
  if (at < first) return { phase: "settle", index: -1, start: 0, end: first };
  let index = -1;
  steps.forEach((step, i) => {
    if (step.prompt_s <= at) index = i;
  });
  const step = steps[index];
  if (at < step.window_end_s) {
    return { phase: "step", index, start: step.prompt_s, end: step.window_end_s };
  }
  if (index + 1 < steps.length) {
    return { phase: "wait", index, start: step.window_end_s, end: steps[index + 1].prompt_s };
  }
  return { phase: "tail", index, start: step.window_end_s, end: totalMs / 1000 };
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
  // ``limits``: the rules' framing ({min_brightness, max_brightness, max_clipped_fraction,
  // min_face_width, max_face_width, max_centre_offset}).
  constructor(video, limits) {
    this.video = video;
    this.limits = limits;
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
    const limits = this.limits;
    if (mean < limits.min_brightness) return "dark";
    if (mean > limits.max_brightness || clipped / n > limits.max_clipped_fraction) return "bright";
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
      if (box.width < limits.min_face_width * oval.visibleW) return "far";
      if (box.width > limits.max_face_width * oval.visibleW) return "near";
      if (
        Math.abs(fx - oval.cx) > limits.max_centre_offset * oval.visibleW ||
        Math.abs(fy - oval.cy) > limits.max_centre_offset * oval.visibleH
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

  // One clip of exactly ``totalMs``, following the schedule ``steps`` ([{action, prompt_s,
  // window_end_s}], seconds from the recording's start). onPhase({phase, index, remainingMs,
  // fraction, changed}) is called at every prompt and window end (own timers) and every
  // TICK_MS; phase is settle, step, wait or tail (phaseAt). If the recorder has not started
  // within ``startWithinMs`` (the challenge's validity), the promise rejects ("expired").
  record(steps, totalMs, onPhase, startWithinMs = null) {
    const mimeType = pickMimeType();
    const options = { videoBitsPerSecond: 1_500_000 };
    if (mimeType) options.mimeType = mimeType;
    const recorder = new MediaRecorder(this.stream, options);
    const chunks = [];
    const total = totalMs;
    return new Promise((resolve, reject) => {
      let ticker = null;
      let started = 0;
      let last = "";
      const timers = [];
      const stopTimers = () => {
        clearInterval(ticker);
        for (const timer of timers) clearTimeout(timer);
      };
      if (startWithinMs !== null) {
        timers.push(
          setTimeout(() => {
            if (started) return;
            stopTimers();
            if (recorder.state !== "inactive") recorder.stop();
            reject(new Error("expired"));
          }, startWithinMs),
        );
      }
      recorder.ondataavailable = (event) => {
        if (event.data && event.data.size) chunks.push(event.data);
      };
      recorder.onerror = (event) => {
        stopTimers();
        reject(event.error || new Error("MediaRecorder failed"));
      };
      recorder.onstop = () => {
        stopTimers();
        if (!started) return;
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
          stopTimers();
          if (recorder.state !== "inactive") recorder.stop();
          return;
        }
        const { phase, index, start, end } = phaseAt(steps, elapsed, total);
        const length = Math.max(1, (end - start) * 1000);
        const key = `${phase}:${index}`;
        onPhase({
          phase,
          index,
          remainingMs: end * 1000 - elapsed,
          fraction: Math.min(1, (elapsed - start * 1000) / length),
          changed: key !== last,
        });
        last = key;
      };
      recorder.onstart = () => {
        started = performance.now();
        tick();
        ticker = setInterval(tick, TICK_MS);
        // Each prompt and window end on time (a tick may come up to TICK_MS late), and the stop.
        for (const step of steps) {
          for (const at of [step.prompt_s, step.window_end_s]) {
            timers.push(setTimeout(tick, Math.max(0, at * 1000 - (performance.now() - started))));
          }
        }
        timers.push(setTimeout(tick, total));
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
