// `npm run prebuild`: prebuilt N-API binaries into prebuilds/<platform>-<arch>/ (placeholder
// until binding.gyp lands).
console.log('gamewire: no binding.gyp yet, nothing to prebuild');
