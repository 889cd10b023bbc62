-- wrk script: PUT SingleSignOnSettings/OAuth2 with a new Client ID and Key each time, so that
-- every request is a change that writes a version. The Client ID is GUID-shaped, because
-- Hatchway rejects any other Client ID for an Entra ID Authority. The Provisioning Key comes
-- from the BENCH_PROVISIONING_KEY environment variable.
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["ProvisioningKey"] = os.getenv("BENCH_PROVISIONING_KEY")

math.randomseed(os.time() + math.floor(os.clock() * 1000000))

request = function()
  local n = math.random(1, 999999999)
  local body = string.format(
    '{"Authority": "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0", ' ..
    '"ClientId": "%08d-0000-4000-8000-%012d", "Key": "bench8Q~secret-value-%09d-abcdefghij"}',
    n % 100000000, n, n)
  return wrk.format(nil, nil, nil, body)
end
