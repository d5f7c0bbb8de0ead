// Printed once at the start of `npm test`, so CI's log shows which Node really ran the suite.
const major = Number(process.versions.node.split('.')[0]);
console.log(`runtime: node ${process.version} (${process.platform}/${process.arch})`);
if (major !== 24) {
  console.error(
    `expected Node 24 (package.json engines); got ${process.version}. Run through npm scripts, which put node_modules/.bin/node first on PATH.`,
  );
  process.exit(1);
}
