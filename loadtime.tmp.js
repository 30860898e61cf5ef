for (const m of ["@grpc/grpc-js","@pulumi/pulumi/runtime/rpc","@pulumi/pulumi/runtime","@pulumi/pulumi/proto/provider_pb","google-protobuf/google/protobuf/struct_pb"]) require(m);
const Module = require("module");
const before = new Set(Object.keys(require.cache));
const t0 = performance.now();
const p = require("pulumi-vm-snapshots/providers/deckhouse.VirtualDiskSnapshot");
const t1 = performance.now();
require("pulumi-vm-snapshots/runtime");
const t2 = performance.now();
const added = Object.keys(require.cache).filter(k => !before.has(k));
console.log("provider module", (t1-t0).toFixed(1), "runtime", (t2-t1).toFixed(1), "modules", added.length);
const byPkg = {}; for (const k of added) { const m = k.match(/node_modules\/((@[^/]+\/)?[^/]+)/); const key = m ? m[1] : k.replace(/.*\/dist\//, "dist/").split("/").slice(0,3).join("/"); byPkg[key]=(byPkg[key]||0)+1; }
console.log(byPkg);
(async () => {
  const t3 = performance.now();
  const r = await p.check({}, { virtualDiskName: "disk", namespace: "bench" });
  const t4 = performance.now();
  const added2 = Object.keys(require.cache).filter(k => !before.has(k)).length;
  console.log("first check", (t4-t3).toFixed(1), "modules now", added2, JSON.stringify(r).slice(0,200));
  const t5 = performance.now();
  for (let i=0;i<1000;i++) await p.check({}, { virtualDiskName: "disk"+i, namespace: "bench" });
  console.log("1000 checks", (performance.now()-t5).toFixed(1));
})();
