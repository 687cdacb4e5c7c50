import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  isLoopback,
  LocalAddressBook,
  normalizeHost,
  normalizeKeyValue,
  peerOf,
} from "../../src/correlate/index.js";
import type { SplunkEvent } from "../../src/events/fields.js";

const ev = (fields: Record<string, string>): SplunkEvent => ({
  time: 0,
  fields: new Map(Object.entries(fields)),
  raw: () => "",
});
const sysmon3 = (f: Record<string, string>) =>
  ev({ EventCode: "3", Channel: "Microsoft-Windows-Sysmon/Operational", ...f });

describe("peer of a network event", () => {
  test("Sysmon 3 inbound, 2019 convention: Source is the local host (SourceHostname names it)", () => {
    const e = sysmon3({
      Initiated: "False",
      SourceIp: "10.0.2.18",
      SourceHostname: "IEWIN7",
      SourcePort: "49163",
      DestinationIp: "10.0.2.19",
      DestinationPort: "33474",
    });
    assert.equal(peerOf(e, "iewin7", new LocalAddressBook()).ip, "10.0.2.19");
  });

  test("Sysmon 3 inbound, 2020 convention: Source is the remote caller", () => {
    const e = sysmon3({
      Initiated: "false",
      SourceIp: "172.18.39.5",
      SourceHostname: "-",
      SourcePort: "58406",
      DestinationIp: "172.18.39.6",
      DestinationPort: "49913",
    });
    assert.equal(peerOf(e, "workstation6", new LocalAddressBook()).ip, "172.18.39.5");
  });

  test("learned local addresses decide when host names are missing", () => {
    const book = new LocalAddressBook();
    book.learn("h", sysmon3({ Initiated: "true", SourceIp: "10.0.2.18", DestinationIp: "8.8.8.8" }));
    const e = sysmon3({
      Initiated: "false",
      SourceIp: "10.0.2.18",
      SourceHostname: "-",
      DestinationIp: "10.0.2.19",
      SourcePort: "49163",
      DestinationPort: "50000",
    });
    assert.equal(peerOf(e, "h", book).ip, "10.0.2.19");
    assert.equal(peerOf(e, "other", book).ip, "10.0.2.18", "another host has not learned the address");
  });

  test("a service port facing a dynamic one marks the listener", () => {
    const e = sysmon3({
      Initiated: "false",
      SourceIp: "10.0.0.5",
      SourcePort: "135",
      DestinationIp: "10.0.0.9",
      DestinationPort: "60001",
    });
    assert.equal(peerOf(e, "x", new LocalAddressBook()).ip, "10.0.0.9");
  });

  test("WFP 5156/5157: outbound peer is DestAddress, inbound follows the evidence", () => {
    const book = new LocalAddressBook();
    const out = ev({
      EventCode: "5156",
      Direction: "%%14593",
      SourceAddress: "172.18.39.6",
      DestAddress: "172.18.38.5",
      SourcePort: "51224",
      DestPort: "135",
    });
    assert.equal(peerOf(out, "w6", book).ip, "172.18.38.5");
    const mordor = ev({
      EventCode: "5156",
      Direction: "%%14592",
      SourceAddress: "172.18.39.5",
      SourcePort: "59644",
      DestAddress: "172.18.39.6",
      DestPort: "135",
    });
    assert.equal(peerOf(mordor, "w6", book).ip, "172.18.39.5");
    const localFirst = ev({
      EventCode: "5157",
      Direction: "%%14592",
      SourceAddress: "10.0.20.15",
      SourcePort: "135",
      DestAddress: "10.0.10.21",
      DestPort: "60376",
    });
    assert.equal(peerOf(localFirst, "srv", book).ip, "10.0.10.21");
  });

  test("logon and share events: the caller is IpAddress", () => {
    const e = ev({ EventCode: "4624", IpAddress: "::ffff:10.23.123.11", WorkstationName: "KALI" });
    assert.deepEqual(peerOf(e, "srv", new LocalAddressBook()), { ip: "10.23.123.11", host: "KALI" });
  });
});

describe("identities", () => {
  test("hosts: case and domain folded, addresses kept", () => {
    assert.equal(normalizeHost("WORKSTATION6.theshire.local"), "workstation6");
    assert.equal(normalizeHost("workstation6"), "workstation6");
    assert.equal(normalizeHost("10.0.2.18"), "10.0.2.18");
  });

  test("key values: hex and decimal spellings agree, null-like values bind nothing", () => {
    assert.equal(normalizeKeyValue("0x000000000542957e"), normalizeKeyValue("0x542957E"));
    assert.equal(normalizeKeyValue("0x554"), "1364");
    assert.equal(normalizeKeyValue("1364"), "1364");
    assert.equal(
      normalizeKeyValue("{D273D0F0-03C5-5F65-B902-000000000800}"),
      "{d273d0f0-03c5-5f65-b902-000000000800}",
    );
    for (const v of ["0x0", "-", "", "0", "{00000000-0000-0000-0000-000000000000}"])
      assert.equal(normalizeKeyValue(v), undefined, v);
  });

  test("loopback addresses", () => {
    for (const v of [
      "127.0.0.1",
      "127.5.5.5",
      "::1",
      "0:0:0:0:0:0:0:1",
      "::ffff:127.0.0.1",
      "LocalHost (Using LRPC)",
    ])
      assert.ok(isLoopback(v), v);
    for (const v of ["10.0.0.1", "fe80::1", "172.18.39.5"]) assert.ok(!isLoopback(v), v);
  });
});
