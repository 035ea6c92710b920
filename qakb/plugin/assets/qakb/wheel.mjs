// The engine's wheel (a zip of pure-Python files) unpacked by JavaScript into Pyodide's file
// system, as pip would install it: no micropip, no loadPackage, and none of Python's zipfile
// and shutil to import on the way to the first result. Imported by search-worker.js and, at
// build time, by stdlib_modules.mjs, which lists the standard library the search loads.

const END_OF_DIRECTORY = 0x06054b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_ENTRY = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;

// [[path inside the wheel, bytes], ...] for every file of the zip archive `bytes`.
export async function wheelFiles(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = bytes.length - 22; // the end record is 22 bytes and a comment of up to 64 kB
  while (end >= 0 && view.getUint32(end, true) !== END_OF_DIRECTORY) {
    end -= 1;
  }
  if (end < 0) {
    throw new Error("the engine wheel is not a zip archive");
  }
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const names = new TextDecoder();
  const files = [];
  for (let i = 0; i < count; i++) {
    if (view.getUint32(at, true) !== DIRECTORY_ENTRY) {
      throw new Error("the engine wheel's zip directory is damaged");
    }
    const method = view.getUint16(at + 10, true);
    const compressedSize = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const local = view.getUint32(at + 42, true);
    const name = names.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    if (name.endsWith("/")) {
      continue;
    }
    if (view.getUint32(local, true) !== LOCAL_ENTRY) {
      throw new Error(`the engine wheel's entry ${name} is damaged`);
    }
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const data = bytes.subarray(start, start + compressedSize);
    if (method === STORED) {
      files.push([name, data]);
    } else if (method === DEFLATED) {
      const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
      files.push([name, new Uint8Array(await new Response(stream).arrayBuffer())]);
    } else {
      throw new Error(`the engine wheel's entry ${name} uses zip method ${method}`);
    }
  }
  return files;
}

// The sha256 of `bytes` in hex, by Python's hashlib (crypto.subtle exists in secure contexts only).
export function sha256(pyodide, bytes) {
  const digest = pyodide.runPython("lambda data: __import__('hashlib').sha256(data.to_bytes()).hexdigest()");
  try {
    return digest(bytes);
  } finally {
    digest.destroy();
  }
}

// Writes the files into site-packages, where pip puts a pure-Python wheel's contents.
export function install(pyodide, files) {
  const sitePackages = pyodide.runPython(
    "import sys; f'/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages'");
  for (const [name, data] of files) {
    const target = `${sitePackages}/${name}`;
    pyodide.FS.mkdirTree(target.slice(0, target.lastIndexOf("/")));
    pyodide.FS.writeFile(target, data);
  }
}
