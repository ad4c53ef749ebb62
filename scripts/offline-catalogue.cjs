// Preloaded by scripts/validate.sh: node-red-dev validate fetches the Node-RED flow library's
// catalogue (to check that our node type names are not already taken), which this network cannot
// reach. This hook answers that one request with an empty catalogue and says so; every other
// request (the npm registry) goes out as usual.
const Module = require("node:module");
const CATALOGUE = "https://catalogue.nodered.org/catalogue.json";
const origLoad = Module._load;
Module._load = function (request, ...rest) {
  const mod = origLoad.call(this, request, ...rest);
  if (request === "axios" && mod && !mod.__lineguardPatched) {
    const origGet = mod.get.bind(mod);
    mod.get = (url, ...rest) => {
      if (url === CATALOGUE) {
        process.stderr.write(
          `[validate] ${CATALOGUE} is not reachable here: node type names not checked against the catalogue\n`,
        );
        return Promise.resolve({
          status: 200,
          data: { name: "offline", updated_at: new Date().toISOString(), modules: [] },
        });
      }
      return origGet(url, ...rest);
    };
    mod.__lineguardPatched = true;
  }
  return mod;
};
