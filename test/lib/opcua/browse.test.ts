import assert from "node:assert/strict";
import { parseNodeId, parseNodeIdList } from "../../../lib/opcua/browse";
import { classifyOpcuaError } from "../../../lib/opcua/connection";
import { endpointKey, resolvePkiFolder, validEndpointUrl, EndpointSettings } from "../../../lib/opcua/endpoint";
import { MonitoredVariable, sourceOf, uniqueTags } from "../../../lib/opcua/items";

describe("lib/opcua browse and path helpers", () => {
  it("parses node ids with a clear error", () => {
    assert.equal(parseNodeId("ns=1;s=CNC/cnc-01/spindle_load").toString(), "ns=1;s=CNC/cnc-01/spindle_load");
    assert.equal(parseNodeId(" i=85 ").toString(), "ns=0;i=85");
    assert.equal(parseNodeId("ObjectsFolder").toString(), "ns=0;i=85");
    assert.throws(() => parseNodeId("ns=1;x=?"), /not a valid node id/);
    assert.throws(() => parseNodeId(""), /empty node id/);
    assert.throws(() => parseNodeId(42), /empty node id/);
    assert.throws(() => parseNodeId({ deep: { junk: [1] } }), /empty node id/);
  });

  it("splits node id lists (lines; blank lines and # comments skipped; arrays accepted)", () => {
    assert.deepEqual(parseNodeIdList("ns=1;s=a\r\n\n  # x\nns=1;s=b  "), ["ns=1;s=a", "ns=1;s=b"]);
    assert.deepEqual(parseNodeIdList(["ns=1;s=a", " ", "i=85"]), ["ns=1;s=a", "i=85"]);
    assert.deepEqual(parseNodeIdList(undefined), []);
    assert.deepEqual(parseNodeIdList(Buffer.from("x")), []);
  });

  it("source rule and unique tags per source", () => {
    assert.equal(sourceOf({ rule: "parent", source: "" }, "cnc-01"), "cnc-01");
    assert.equal(sourceOf({ rule: "fixed", source: "line-a" }, "cnc-01"), "line-a");
    const v = (nodeId: string, tag: string, source: string): MonitoredVariable => ({ nodeId, tag, source });
    assert.deepEqual(
      uniqueTags([v("ns=1;s=a/t", "t", "a"), v("ns=1;s=b/t", "t", "b"), v("ns=1;s=a/x/t", "t", "a")]).map((i) => i.tag),
      ["t", "t", "t@ns=1;s=a/x/t"],
    );
  });

  it("endpoint URLs, pool keys and PKI folders", () => {
    assert.ok(validEndpointUrl("opc.tcp://127.0.0.1:4840"));
    assert.ok(validEndpointUrl("opc.tcp://plc-1.local:4840/UA/Server"));
    assert.ok(validEndpointUrl("opc.tcp://[::1]:4840"));
    assert.ok(!validEndpointUrl("opc.tcp://host:70000"));
    assert.ok(!validEndpointUrl("tcp://host:4840"));
    assert.ok(!validEndpointUrl(undefined));
    const s: EndpointSettings = {
      url: "opc.tcp://h:1",
      securityMode: "None",
      securityPolicy: "None",
      auth: "anonymous",
      autoAcceptServerCertificate: false,
      pkiFolder: "/p",
      sessionTimeout: 1000,
      applicationName: "x",
    };
    assert.equal(endpointKey(s), endpointKey({ ...s, sessionTimeout: 5000 }));
    assert.notEqual(endpointKey(s), endpointKey({ ...s, securityMode: "Sign", securityPolicy: "Basic256Sha256" }));
    assert.notEqual(
      endpointKey({ ...s, auth: "username", username: "a", password: "1" }),
      endpointKey({ ...s, auth: "username", username: "b", password: "1" }),
    );
    assert.equal(resolvePkiFolder("/u", ""), "/u/lineguard-pki/opcua");
    assert.equal(resolvePkiFolder("/u", "pki"), "/u/pki");
    assert.equal(resolvePkiFolder("/u", "/abs"), "/abs");
  });

  it("classifies connection errors", () => {
    assert.equal(classifyOpcuaError(new Error("BadIdentityTokenRejected (0x80210000)")).kind, "auth");
    assert.equal(classifyOpcuaError(new Error("BadUserAccessDenied")).kind, "auth");
    assert.equal(classifyOpcuaError(new Error("server certificate is not trusted")).kind, "certificate");
    assert.equal(classifyOpcuaError(new Error("connect ECONNREFUSED 127.0.0.1:4840")).kind, "network");
    assert.equal(classifyOpcuaError("weird").kind, "other");
  });
});
