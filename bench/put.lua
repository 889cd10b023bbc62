-- wrk script: PUT SingleSignOnSettings/OAuth2 with a new Client ID and Key each time, so that
-- every request is a change that writes a version. The Provisioning Key comes from the
-- BENCH_PROVISIONING_KEY environment variable, the Authority from BENCH_AUTHORITY: the test
-- provider on loopback, because Hatchway verifies the values with the provider even with
-- ?verify=false (failed checks become warnings), and an Entra ID host would measure this
-- machine's DNS and network instead of Hatchway. The provider does not know the Client ID, so
-- the client credentials check fails and the PUT saves with that warning.
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["ProvisioningKey"] = os.getenv("BENCH_PROVISIONING_KEY")
authority = os.getenv("BENCH_AUTHORITY")

math.randomseed(os.time() + math.floor(os.clock() * 1000000))

request = function()
  local n = math.random(1, 999999999)
  local body = string.format(
    '{"Authority": "%s", ' ..
    '"ClientId": "%08d-0000-4000-8000-%012d", "Key": "bench8Q~secret-value-%09d-abcdefghij"}',
    authority, n % 100000000, n, n)
  return wrk.format(nil, nil, nil, body)
end
