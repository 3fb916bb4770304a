// worldgen preview page. Everything it draws comes from the server, which gets it from the
// library: the world is worldgen's own glTF export (meshes, colours, object and body motion
// sampled at every frame), and each shot's camera arrives sampled per frame (position,
// rotation, vertical field of view). This file reads no spec and computes no motion; between
// two samples it interpolates, at a sample it shows exactly the renderer's pose.
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

// ---- state --------------------------------------------------------------------------------
const S = {
  meta: null,          // description of the world shown (worldgen.preview.scene.describe)
  version: null,       // its world version
  error: null,         // the newest build's error, or null
  root: null,          // the glTF scene
  tracks: [],          // [{object, property, interpolant}] from the glTF animation
  instanceOf: new Map(), // worldgen id (object or body part) -> instance id
  infoOf: new Map(),   // worldgen id -> its object/character description
  time: 0,             // film seconds (the playhead)
  playing: false,
  view: 'free',        // 'free' (orbit controls), 'cut' (the playhead's shot), or 'shot:ID'
  idMode: params.get('ids') === '1',
  selected: null,
  firstPaintMs: null,  // performance.now() at the first frame that showed a world
  applied: null,       // {version, at: Date.now()} once a world version is on screen
  dirty: true,
};

// ---- three.js set-up --------------------------------------------------------------------------
const canvas = $('canvas');
const renderer = new THREE.WebGLRenderer({ canvas, antialias: !S.idMode, preserveDrawingBuffer: true });
renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
const scene = new THREE.Scene();
const SKY = new THREE.Color(0x9fb3c6);
const worldGroup = new THREE.Group();
const lightGroup = new THREE.Group();
const helperGroup = new THREE.Group();   // camera paths and frustums
const markerGroup = new THREE.Group();   // where the lights shine from
scene.add(worldGroup, lightGroup, helperGroup, markerGroup);
const grid = new THREE.GridHelper(100, 100, 0x556070, 0x3a424d);
grid.position.y = -0.002;
scene.add(grid);
const selectionBox = new THREE.Box3Helper(new THREE.Box3(), 0xffdd33);
selectionBox.visible = false;
scene.add(selectionBox);
const liveFrustum = new THREE.LineSegments(new THREE.BufferGeometry(), new THREE.LineBasicMaterial({ color: 0xffffff }));
scene.add(liveFrustum);

const orbitCam = new THREE.PerspectiveCamera(50, 1, 0.05, 5000);
orbitCam.position.set(12, 8, 16);
const controls = new OrbitControls(orbitCam, canvas);
controls.addEventListener('change', () => { S.dirty = true; });
const shotCam = new THREE.PerspectiveCamera(50, 16 / 9, 0.05, 1000);
let framedOnce = false;

// ---- time ---------------------------------------------------------------------------------------
const shotsOf = () => (S.meta ? S.meta.shots : []);
const filmSeconds = () => (S.meta ? Math.max(S.meta.film_frames - 1, 0) / S.meta.fps : 0);

// The playhead's shot, its fractional frame u (frame index at a sample) and the world time.
function locate(T) {
  const shots = shotsOf();
  if (!shots.length) return null;
  const fps = S.meta.fps;
  const f = T * fps;
  let shot = shots[shots.length - 1];
  for (const s of shots) { if (f < s.film_start + s.frame_count - 1e-6) { shot = s; break; } }
  const u = Math.min(Math.max(f - shot.film_start, 0), shot.frame_count - 1);
  return { shot, u, world: shot.start + u / fps };
}

// A shot's camera at world time t: its samples interpolated, held at its ends.
const _q0 = new THREE.Quaternion(), _q1 = new THREE.Quaternion();
function cameraAt(shot, world, cam) {
  const c = shot.camera, n = shot.frame_count;
  const u = Math.min(Math.max((world - shot.start) * S.meta.fps, 0), n - 1);
  const i = Math.floor(u + 1e-9), j = Math.min(i + 1, n - 1), a = u - i;
  const p = c.position, q = c.quaternion;
  cam.position.set(p[i][0] + (p[j][0] - p[i][0]) * a, p[i][1] + (p[j][1] - p[i][1]) * a, p[i][2] + (p[j][2] - p[i][2]) * a);
  _q0.fromArray(q[i]); _q1.fromArray(q[j]);
  cam.quaternion.slerpQuaternions(_q0, _q1, a);
  cam.fov = c.yfov[i] + (c.yfov[j] - c.yfov[i]) * a;
  cam.aspect = S.meta.width / S.meta.height;
  cam.near = S.meta.near; cam.far = S.meta.far;
  cam.updateProjectionMatrix();
  cam.updateMatrixWorld(true);
  return cam;
}

function viewedShot(loc) {
  if (!loc) return null;
  if (S.view === 'cut') return loc.shot;
  return shotsOf().find((s) => `shot:${s.id}` === S.view) || null;
}

function applyTime() {
  const loc = locate(S.time);
  if (!loc) return null;
  for (const tr of S.tracks) {
    const v = tr.interpolant.evaluate(loc.world);
    tr.object[tr.property].fromArray(v);
  }
  worldGroup.updateMatrixWorld(true);
  const shot = viewedShot(loc);
  if (shot) cameraAt(shot, loc.world, shotCam);
  else {
    cameraAt(loc.shot, loc.world, shotCam);  // the live frustum shows the cut's camera
  }
  updateLiveFrustum();
  updateSelectionBox();
  updateClock(loc);
  return loc;
}

// ---- scene loading ------------------------------------------------------------------------------
const loader = new GLTFLoader();

function parseGlb(buffer) {
  return new Promise((resolve, reject) => loader.parse(buffer, '', resolve, reject));
}

let loading = null;
async function refresh() {
  // one load at a time; a state event that arrives meanwhile is handled when it finishes
  if (loading) { loading.again = true; return loading.promise; }
  loading = { again: false };
  loading.promise = (async () => {
    do {
      loading.again = false;
      const res = await fetch('/api/scene', { cache: 'no-store' });
      const snap = await res.json();
      if (snap.scene && snap.scene.version !== S.version) {
        const glb = await fetch(`/api/scene.glb?v=${snap.scene.version}`, { cache: 'no-store' });
        if (glb.status === 410) { loading.again = true; continue; }  // superseded meanwhile
        const gltf = await parseGlb(await glb.arrayBuffer());
        installWorld(snap.scene, gltf);
      }
      showError(snap.error);
    } while (loading.again);
  })();
  try { await loading.promise; } finally { loading = null; }
}

function installWorld(meta, gltf) {
  const keepSelected = S.selected;
  worldGroup.clear();
  S.meta = meta;
  S.version = meta.version;
  S.root = gltf.scene;
  worldGroup.add(S.root);
  S.instanceOf.clear(); S.infoOf.clear();
  for (const o of meta.objects) { S.instanceOf.set(o.id, o.instance); S.infoOf.set(o.id, o); }
  for (const c of meta.characters) {
    S.instanceOf.set(c.id, c.instance); S.infoOf.set(c.id, c);
    for (const p of c.parts) { S.instanceOf.set(p, c.instance); S.infoOf.set(p, c); }
  }
  S.tracks = [];
  for (const clip of gltf.animations) {
    for (const track of clip.tracks) {
      const dot = track.name.lastIndexOf('.');
      const name = track.name.slice(0, dot), property = track.name.slice(dot + 1);
      if (!['position', 'quaternion', 'scale'].includes(property)) continue;
      const object = S.root.getObjectByName(name) || S.root.getObjectByProperty('uuid', name);
      if (object) S.tracks.push({ object, property, interpolant: track.createInterpolant() });
    }
  }
  S.root.traverse((o) => {
    if (o.isMesh) { o.userData.lookMaterial = o.material; o.userData.worldgenId = idOf(o); }
  });
  buildLights(meta);
  buildCameraHelpers(meta);
  buildTimeline(meta);
  buildViewChoices(meta);
  document.title = `${meta.title} · worldgen preview`;
  $('title').textContent = meta.title;
  S.time = Math.min(S.time, filmSeconds());
  // a grid helps where the world has no ground of its own
  S.hasGround = meta.objects.some((o) => o.shape === 'plane');
  applyIdMode();
  if (!framedOnce) { frameWorld(); framedOnce = true; }
  S.selected = keepSelected && S.infoOf.has(keepSelected) ? keepSelected : null;
  showInfo();
  S.pendingApplied = meta.version;
  S.dirty = true;
}

function idOf(o) {
  for (let n = o; n; n = n.parent) if (n.userData && n.userData.worldgen_id) return n.userData.worldgen_id;
  return null;
}

function frameWorld() {
  // what the shots film: everything but ground planes, and the cameras' paths
  const box = new THREE.Box3();
  S.root.updateMatrixWorld(true);
  S.root.traverse((o) => {
    const d = o.isMesh && S.infoOf.get(o.userData.worldgenId);
    if (d && d.shape !== 'plane') box.expandByObject(o);
  });
  for (const shot of S.meta.shots) for (const p of shot.camera.position) box.expandByPoint(new THREE.Vector3(...p));
  if (box.isEmpty()) box.setFromObject(S.root);
  if (box.isEmpty()) return;
  const c = box.getCenter(new THREE.Vector3());
  const r = Math.min(box.getSize(new THREE.Vector3()).length() / 2, 60);
  orbitCam.position.set(c.x + r * 0.9, c.y + r * 0.7, c.z + r * 1.2);
  controls.target.copy(c);
  controls.update();
}

function buildLights(meta) {
  lightGroup.clear();
  markerGroup.clear();
  lightGroup.add(new THREE.HemisphereLight(0xdde6f0, 0x4a4038, 1.2));
  for (const l of meta.lights) {
    const colour = new THREE.Color(l.color);
    if (l.type === 'ambient') { lightGroup.add(new THREE.AmbientLight(colour, l.intensity)); continue; }
    const sun = new THREE.DirectionalLight(colour, l.intensity);
    const d = new THREE.Vector3(...l.direction).normalize();
    sun.position.copy(d.clone().multiplyScalar(-50));
    lightGroup.add(sun);
    // the sun's direction, drawn above the world's centre in the orbit view
    const box = new THREE.Box3().setFromObject(S.root);
    const c = box.isEmpty() ? new THREE.Vector3() : box.getCenter(new THREE.Vector3());
    const top = box.isEmpty() ? 5 : box.max.y + 2;
    markerGroup.add(new THREE.ArrowHelper(d, new THREE.Vector3(c.x, top, c.z).addScaledVector(d, -3), 3, colour.getHex(), 0.6, 0.35));
  }
}

const SHOT_COLOURS = [0xff8c42, 0x4ecdc4, 0xc77dff, 0xffd166, 0x06d6a0, 0xef476f, 0x118ab2, 0xa3d977];
const shotColour = (k) => SHOT_COLOURS[k % SHOT_COLOURS.length];

function frustumPoints(cam, depth) {
  // apex and image-plane corners of a camera at `depth` in front of it, in world space
  const hh = depth * Math.tan(THREE.MathUtils.degToRad(cam.fov) / 2), hw = hh * cam.aspect;
  const local = [[0, 0, 0], [-hw, -hh, -depth], [hw, -hh, -depth], [hw, hh, -depth], [-hw, hh, -depth], [0, hh * 1.4, -depth]];
  return local.map((p) => new THREE.Vector3(...p).applyMatrix4(cam.matrixWorld));
}

function frustumSegments(cam, depth) {
  const [o, a, b, c, d, up] = frustumPoints(cam, depth);
  const pairs = [[o, a], [o, b], [o, c], [o, d], [a, b], [b, c], [c, d], [d, a], [d, up], [up, c]];
  return pairs.flatMap(([p, q]) => [p.x, p.y, p.z, q.x, q.y, q.z]);
}

function buildCameraHelpers(meta) {
  helperGroup.clear();
  const tmp = new THREE.PerspectiveCamera();
  meta.shots.forEach((shot, k) => {
    const colour = shotColour(k);
    const pts = shot.camera.position.map((p) => new THREE.Vector3(...p));
    const path = new THREE.Line(new THREE.BufferGeometry().setFromPoints(pts), new THREE.LineBasicMaterial({ color: colour }));
    helperGroup.add(path);
    for (const i of [0, shot.frame_count - 1]) {
      cameraAt(shot, shot.start + i / meta.fps, tmp);
      const g = new THREE.BufferGeometry();
      g.setAttribute('position', new THREE.Float32BufferAttribute(frustumSegments(tmp, 1.2), 3));
      helperGroup.add(new THREE.LineSegments(g, new THREE.LineBasicMaterial({ color: colour })));
    }
  });
}

function updateLiveFrustum() {
  const g = liveFrustum.geometry;
  g.setAttribute('position', new THREE.Float32BufferAttribute(frustumSegments(shotCam, 1.6), 3));
  g.computeBoundingSphere();
}

// ---- flat id colours (what the renderer's instance pass would show) -------------------------------
const idColours = new Map(); // instance -> [r, g, b] bytes
const colourIds = new Map(); // 'r,g,b' -> instance
function idColour(inst) {
  if (idColours.has(inst)) return idColours.get(inst);
  const c = new THREE.Color().setHSL((inst * 0.618034) % 1, 0.75, 0.5);
  let rgb = [Math.round(c.r * 255), Math.round(c.g * 255), Math.round(c.b * 255)];
  while (colourIds.has(rgb.join(',')) || rgb.join(',') === '0,0,0') rgb = [rgb[0], rgb[1], (rgb[2] + 1) % 256];
  idColours.set(inst, rgb); colourIds.set(rgb.join(','), inst);
  return rgb;
}
const flatMaterials = new Map();
function flatMaterial(inst) {
  if (!flatMaterials.has(inst)) {
    const [r, g, b] = idColour(inst);
    const colour = new THREE.Color().setRGB(r / 255, g / 255, b / 255, THREE.LinearSRGBColorSpace);
    flatMaterials.set(inst, new THREE.MeshBasicMaterial({ color: colour, side: THREE.DoubleSide }));
  }
  return flatMaterials.get(inst);
}

function applyIdMode() {
  const on = S.idMode;
  if (S.root) {
    S.root.traverse((o) => {
      if (!o.isMesh) return;
      const inst = S.instanceOf.get(o.userData.worldgenId) || 0;
      o.material = on ? flatMaterial(inst) : o.userData.lookMaterial;
    });
  }
  renderer.outputColorSpace = on ? THREE.LinearSRGBColorSpace : THREE.SRGBColorSpace;
  scene.background = on ? new THREE.Color(0, 0, 0) : SKY;
  grid.visible = !on && !S.hasGround;
  helperGroup.visible = liveFrustum.visible = markerGroup.visible = !on;
  lightGroup.visible = !on;
  $('ids').checked = on;
  S.dirty = true;
}

// ---- drawing ------------------------------------------------------------------------------------
function viewCamera() { return S.view === 'free' ? orbitCam : shotCam; }

function resize() {
  const w = canvas.clientWidth, h = canvas.clientHeight;
  const px = renderer.getPixelRatio();
  if (canvas.width !== Math.floor(w * px) || canvas.height !== Math.floor(h * px)) {
    renderer.setSize(w, h, false);
    S.dirty = true;
  }
  return [w, h];
}

function draw() {
  const [w, h] = resize();
  applyTime();
  const looking = S.view !== 'free' && S.meta;
  helperGroup.visible = liveFrustum.visible = markerGroup.visible = !S.idMode && !looking;
  renderer.setScissorTest(false);
  renderer.setViewport(0, 0, w, h);
  if (looking) {
    // the shot's own aspect, letterboxed in the view
    const a = S.meta.width / S.meta.height;
    let vw = w, vh = w / a;
    if (vh > h) { vh = h; vw = h * a; }
    const x = (w - vw) / 2, y = (h - vh) / 2;
    renderer.setClearColor(0x000000);
    renderer.clear();
    renderer.setViewport(x, y, vw, vh);
    renderer.setScissor(x, y, vw, vh);
    renderer.setScissorTest(true);
  } else {
    orbitCam.aspect = w / Math.max(h, 1);
    orbitCam.updateProjectionMatrix();
  }
  renderer.render(scene, viewCamera());
  renderer.setScissorTest(false);
  if (S.meta && S.firstPaintMs === null) S.firstPaintMs = performance.now();
  if (S.pendingApplied !== undefined && S.pendingApplied !== null) {
    S.applied = { version: S.pendingApplied, at: Date.now() };
    S.pendingApplied = null;
  }
}

let lastTick = null;
function tick(now) {
  if (S.playing && S.meta) {
    if (lastTick !== null) {
      S.time += (now - lastTick) / 1000;
      if (S.time > filmSeconds()) S.time = 0;
      $('scrub').value = S.time;
    }
    lastTick = now;
    S.dirty = true;
  } else lastTick = null;
  if (S.dirty) { S.dirty = false; draw(); }
  requestAnimationFrame(tick);
}

// ---- UI -----------------------------------------------------------------------------------------
function updateClock(loc) {
  const frame = Math.round(loc.u);
  $('clock').textContent = `film ${S.time.toFixed(2)} s · ${loc.shot.id} frame ${frame} · world t ${loc.world.toFixed(2)} s`;
  for (const el of $('blocks').children) el.classList.toggle('active', el.dataset.shot === loc.shot.id);
}

function buildTimeline(meta) {
  const blocks = $('blocks');
  blocks.replaceChildren();
  meta.shots.forEach((shot, k) => {
    const el = document.createElement('div');
    el.textContent = `${shot.id} · ${shot.move}`;
    el.title = `${shot.id}: ${shot.duration} s from world t ${shot.start} s (spec line ${shot.line})`;
    el.dataset.shot = shot.id;
    el.style.flexGrow = shot.frame_count;
    el.style.background = '#' + shotColour(k).toString(16).padStart(6, '0');
    el.addEventListener('click', () => setTime(shot.film_start / meta.fps));
    blocks.append(el);
  });
  const scrub = $('scrub');
  scrub.max = filmSeconds();
  scrub.step = 'any';
  scrub.value = S.time;
}

function buildViewChoices(meta) {
  const sel = $('viewsel');
  const keep = S.view;
  sel.replaceChildren();
  const add = (value, text) => { const o = document.createElement('option'); o.value = value; o.textContent = text; sel.append(o); };
  add('free', 'free orbit');
  add('cut', 'through the cut');
  for (const s of meta.shots) add(`shot:${s.id}`, `through ${s.id}`);
  S.view = [...sel.options].some((o) => o.value === keep) ? keep : 'free';
  sel.value = S.view;
}

function setTime(T) {
  S.time = Math.min(Math.max(T, 0), filmSeconds());
  $('scrub').value = S.time;
  S.dirty = true;
}

function setView(v) {
  S.view = v;
  $('viewsel').value = v;
  controls.enabled = v === 'free';
  const shot = shotsOf().find((s) => `shot:${s.id}` === v);
  if (shot) {
    // bring the playhead into the shot when it is elsewhere
    const loc = locate(S.time);
    if (loc && loc.shot.id !== shot.id) setTime(shot.film_start / S.meta.fps);
  }
  S.dirty = true;
}

function showError(error) {
  S.error = error;
  const box = $('error');
  box.hidden = !error;
  box.textContent = error ? `error: ${error.message}` : '';
  $('status').textContent = error ? 'spec error: showing the last good world'
    : (S.meta ? `world version ${S.version} · ${S.meta.objects.length} objects, ${S.meta.characters.length} characters, ${S.meta.shots.length} shots` : '');
  if (error && error.line) showSpecLines(error.line, true);
  else if (!S.selected) $('spec-section').hidden = true;
}

async function showSpecLines(line, bad) {
  const name = S.meta ? S.meta.file.split('/').pop() : null;
  if (!name || !line) return;
  const res = await fetch(`/files/${encodeURIComponent(name)}`, { cache: 'no-store' });
  if (!res.ok) return;
  const lines = (await res.text()).split('\n');
  const pre = $('spec');
  pre.replaceChildren();
  for (let k = Math.max(1, line - 3); k <= Math.min(lines.length, line + 3); k++) {
    const span = document.createElement('span');
    span.textContent = `${String(k).padStart(4)}  ${lines[k - 1]}`;
    if (k === line && bad) span.className = 'bad';
    pre.append(span);
  }
  $('spec-section').hidden = false;
}

function showInfo() {
  const info = $('info');
  const d = S.selected && S.infoOf.get(S.selected);
  if (!d) { info.textContent = 'Click an object.'; selectionBox.visible = false; return; }
  const rows = [['id', d.id], ['kind', d.kind], ['shape', d.shape + (d.mesh ? ` ${d.mesh}` : '')]];
  for (const k of ['size', 'radius', 'height', 'tube']) if (d[k] !== undefined) rows.push([k, JSON.stringify(d[k])]);
  rows.push(['appearance', d.appearance || '—'], ['label', d.label], ['instance id', d.instance]);
  if (d.parent) rows.push(['parent', d.parent]);
  if (d.id !== S.selected) rows.push(['part', S.selected]);
  rows.push(['spec line', `${S.meta.file.split('/').pop()}:${d.line}`], ['', d.line_text]);
  const dl = document.createElement('dl');
  for (const [k, v] of rows) {
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd');
    if (k === '' || k === 'spec line') { const c = document.createElement('code'); c.textContent = v; dd.append(c); } else dd.textContent = v;
    dl.append(dt, dd);
  }
  info.replaceChildren(dl);
  if (!S.error) showSpecLines(d.line, false);
  updateSelectionBox();
}

function updateSelectionBox() {
  const d = S.selected && S.infoOf.get(S.selected);
  if (!d || !S.root) { selectionBox.visible = false; return; }
  const ids = d.kind === 'character' ? new Set(d.parts) : new Set([S.selected]);
  const box = selectionBox.box.makeEmpty();
  S.root.traverse((o) => { if (o.isMesh && ids.has(o.userData.worldgenId)) box.expandByObject(o); });
  selectionBox.visible = !box.isEmpty() && !S.idMode;
}

function pick(event) {
  const rect = canvas.getBoundingClientRect();
  const ndc = new THREE.Vector2(((event.clientX - rect.left) / rect.width) * 2 - 1, -((event.clientY - rect.top) / rect.height) * 2 + 1);
  if (S.view !== 'free' && S.meta) {
    // the shot's picture is letterboxed: map the click into it
    const a = S.meta.width / S.meta.height, w = rect.width, h = rect.height;
    let vw = w, vh = w / a; if (vh > h) { vh = h; vw = h * a; }
    ndc.x = ((event.clientX - rect.left - (w - vw) / 2) / vw) * 2 - 1;
    ndc.y = -((event.clientY - rect.top - (h - vh) / 2) / vh) * 2 + 1;
  }
  const ray = new THREE.Raycaster();
  ray.setFromCamera(ndc, viewCamera());
  const hit = S.root ? ray.intersectObject(S.root, true).find((h) => h.object.userData.worldgenId) : null;
  const id = hit ? hit.object.userData.worldgenId : null;
  const d = id && S.infoOf.get(id);
  S.selected = d ? (d.kind === 'character' ? d.id : id) : null;
  showInfo();
  S.dirty = true;
}

let down = null;
canvas.addEventListener('pointerdown', (e) => { down = [e.clientX, e.clientY]; });
canvas.addEventListener('pointerup', (e) => {
  if (down && Math.hypot(e.clientX - down[0], e.clientY - down[1]) < 4) pick(e);
  down = null;
});

async function renderThisFrame() {
  const loc = locate(S.time);
  if (!loc) return;
  const shot = viewedShot(loc) || loc.shot;
  const frame = Math.round(Math.min(Math.max((loc.world - shot.start) * S.meta.fps, 0), shot.frame_count - 1));
  const button = $('render');
  button.disabled = true;
  $('truth-status').textContent = `rendering ${shot.id} frame ${frame}…`;
  try {
    const res = await fetch(`/api/render?shot=${encodeURIComponent(shot.id)}&frame=${frame}`, { cache: 'no-store' });
    const out = await res.json();
    if (!res.ok) { $('truth-status').textContent = out.error; return; }
    $('truth-status').textContent = `${out.shot} frame ${out.frame} (world t ${out.time.toFixed(2)} s), ${out.painter} painter, ${out.seconds} s`;
    const figs = [['frame', 'painted frame'], ['depth', 'depth'], ['segmentation', 'segmentation']].map(([key, caption]) => {
      const fig = document.createElement('figure');
      const img = document.createElement('img'); img.src = out.images[key]; img.alt = caption; img.dataset.pass = key;
      const cap = document.createElement('figcaption'); cap.textContent = caption;
      fig.append(img, cap);
      return fig;
    });
    $('truth').replaceChildren(...figs);
    S.lastRender = { shot: out.shot, frame: out.frame };
  } finally { button.disabled = false; }
}

$('render').addEventListener('click', renderThisFrame);
$('play').addEventListener('click', () => { S.playing = !S.playing; $('play').textContent = S.playing ? 'pause' : 'play'; });
$('scrub').addEventListener('input', (e) => { S.playing = false; $('play').textContent = 'play'; setTime(parseFloat(e.target.value)); });
$('viewsel').addEventListener('change', (e) => setView(e.target.value));
$('ids').addEventListener('change', (e) => { S.idMode = e.target.checked; applyIdMode(); });
window.addEventListener('keydown', (e) => {
  if (e.code === 'Space' && e.target.tagName !== 'INPUT' && e.target.tagName !== 'SELECT') { e.preventDefault(); $('play').click(); }
});
new ResizeObserver(() => { S.dirty = true; }).observe($('view'));

// ---- live updates -------------------------------------------------------------------------------
const events = new EventSource('/api/events');
events.addEventListener('state', (e) => {
  const data = JSON.parse(e.data);
  if (data.scene_version !== S.version || JSON.stringify(data.error) !== JSON.stringify(S.error)) {
    refresh().catch((err) => { $('status').textContent = `could not load the world: ${err}`; });
  }
});
events.onerror = () => { $('status').textContent = 'connection to the preview server lost; retrying…'; };

// ---- a small interface for tests and benchmarks ----------------------------------------------------
window.worldgenPreview = {
  get state() { return { version: S.version, error: S.error, time: S.time, view: S.view, idMode: S.idMode,
    applied: S.applied, firstPaintMs: S.firstPaintMs, selected: S.selected, lastRender: S.lastRender || null }; },
  // world position of a node (object id or body part) as drawn now
  position(id) {
    applyTime();
    let found = null;
    S.root && S.root.traverse((o) => { if (!found && o.userData.worldgen_id === id) found = o; });
    return found ? found.getWorldPosition(new THREE.Vector3()).toArray() : null;
  },
  // where an object's centre is drawn now, in CSS pixels from the canvas's top left
  screenPoint(id) {
    const p = this.position(id);
    if (!p) return null;
    const cam = viewCamera(), w = canvas.clientWidth, h = canvas.clientHeight;
    let x0 = 0, y0 = 0, vw = w, vh = h;
    if (cam === shotCam) { const a = S.meta.width / S.meta.height; vh = Math.min(h, w / a); vw = vh * a; x0 = (w - vw) / 2; y0 = (h - vh) / 2; }
    const v = new THREE.Vector3(...p).project(cam);
    return [x0 + (v.x + 1) / 2 * vw, y0 + (1 - v.y) / 2 * vh];
  },
  // the current view's camera drawn at the shot's render size with flat id colours:
  // instance ids, row by row from the top (base64 of little-endian uint16)
  captureIds() {
    const was = S.idMode;
    if (!was) { S.idMode = true; applyIdMode(); }
    applyTime();
    const w = S.meta.width, h = S.meta.height;
    const cam = viewCamera();
    const aspect = cam.aspect;
    if (cam === orbitCam) { cam.aspect = w / h; cam.updateProjectionMatrix(); }
    const target = new THREE.WebGLRenderTarget(w, h);
    renderer.setRenderTarget(target);
    renderer.render(scene, cam);
    const px = new Uint8Array(w * h * 4);
    renderer.readRenderTargetPixels(target, 0, 0, w, h, px);
    renderer.setRenderTarget(null);
    target.dispose();
    if (cam === orbitCam) { cam.aspect = aspect; cam.updateProjectionMatrix(); }
    if (!was) { S.idMode = false; applyIdMode(); }
    const ids = new Uint16Array(w * h);
    let unknown = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const k = ((h - 1 - y) * w + x) * 4;  // WebGL rows start at the bottom
        const key = `${px[k]},${px[k + 1]},${px[k + 2]}`;
        const inst = key === '0,0,0' ? 0 : colourIds.get(key);
        if (inst === undefined) unknown++;
        ids[y * w + x] = inst === undefined ? 65535 : inst;
      }
    }
    let s = '';
    const bytes = new Uint8Array(ids.buffer);
    for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
    S.dirty = true;
    return { width: w, height: h, ids: btoa(s), unknown };
  },
};

refresh().catch((err) => { $('status').textContent = `could not load the world: ${err}`; });
requestAnimationFrame(tick);
