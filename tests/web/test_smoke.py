from tests.conftest import api_login


def test_login_and_list_patients(client, world):
    headers = api_login(client, world.user("nurse").email)
    response = client.get("/api/v1/patients", headers=headers)
    assert response.status_code == 200, response.text
    names = {p["last_name"] for p in response.json()["items"]}
    assert names == {"North"}
