package api

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mailbridge/mailbridge/shared/domain"
)

// Hostile inputs of the room policy (tenant create and PATCH) and of the
// room meeting routes (bad item ids, addresses, tenants, parameters; a
// tenant whose policy is off). Each is answered with a JSON 4xx before
// Exchange is reached (the suite's room calendar fails any connection).

// unreachableRooms is the room calendar of the test envs: reaching it is
// a failure of the suite (the hostile inputs must be answered before).
type unreachableRooms struct{}

func (unreachableRooms) ConnectRoomCalendar(context.Context, domain.Tenant, domain.Credential) (domain.RoomCalendar, error) {
	return nil, &domain.AccessError{Kind: domain.AccessPermanent, Code: "Unreachable", Err: errors.New("the test env has no room calendar")}
}

func hostileRoomCases() []hostileCase {
	post := func(body string) req { return req{method: "POST", path: "/tenants", body: body} }
	patch := func(body string) req { return req{method: "PATCH", path: "/tenants/contoso", body: body} }
	end := func(path string) req { return req{method: "POST", path: path + "/end"} }
	checkin := func(path string) req { return req{method: "POST", path: path + "/checkin"} }
	const room = "/tenants/contoso/rooms/room1@contoso.com/meetings/"
	const list = "/tenants/contoso/rooms/room1@contoso.com/meetings"
	get := func(path string) req { return req{method: "GET", path: path} }
	many := make([]string, domain.MaxPolicyRooms+1)
	for i := range many {
		many[i] = fmt.Sprintf(`"room%d@contoso.com"`, i)
	}
	return []hostileCase{
		{"policy as a string", post(createWith(`,"roomPolicy":"all"`)), 400, "roomPolicy", "object"},
		{"policy rooms not addresses", post(createWith(`,"roomPolicy":{"enabled":true,"rooms":["Room 1"]}`)), 400, "roomPolicy.rooms", ""},
		{"policy rooms and allRooms", post(createWith(`,"roomPolicy":{"enabled":true,"rooms":["room1@contoso.com"],"allRooms":true}`)), 400, "roomPolicy.rooms", "not both"},
		{"policy enabled with no rooms", post(createWith(`,"roomPolicy":{"enabled":true}`)), 400, "roomPolicy.rooms", "allRooms"},
		{"policy negative minutes", post(createWith(`,"roomPolicy":{"enabled":true,"allRooms":true,"checkInMinutes":-1}`)), 400, "roomPolicy.checkInMinutes", ""},
		{"policy minutes past the bound", post(createWith(`,"roomPolicy":{"enabled":true,"allRooms":true,"checkInMinutes":241}`)), 400, "roomPolicy.checkInMinutes", "240"},
		{"policy minutes huge", post(createWith(`,"roomPolicy":{"enabled":true,"allRooms":true,"checkInMinutes":1e12}`)), 400, "roomPolicy.checkInMinutes", ""},
		{"policy minutes as string", post(createWith(`,"roomPolicy":{"checkInMinutes":"10"}`)), 400, "roomPolicy.checkInMinutes", "integer"},
		{"policy unknown field", post(createWith(`,"roomPolicy":{"enabled":true,"rooms":["room1@contoso.com"],"releaseAfter":10}`)), 400, "releaseAfter", "unknown field"},
		{"policy notify as string", post(createWith(`,"roomPolicy":{"notifyOrganizer":"yes"}`)), 400, "roomPolicy.notifyOrganizer", ""},
		{"policy duplicate room", patch(`{"roomPolicy":{"enabled":true,"rooms":["room1@contoso.com","ROOM1@contoso.com"]}}`), 400, "roomPolicy.rooms", "twice"},
		{"policy too many rooms", patch(`{"roomPolicy":{"enabled":true,"rooms":[` + strings.Join(many, ",") + `]}}`), 400, "roomPolicy.rooms", "allRooms"},
		{"policy room a path", patch(`{"roomPolicy":{"enabled":true,"rooms":["../users/x@contoso.com"]}}`), 400, "roomPolicy.rooms", ""},
		{"patch policy minutes past the bound", patch(`{"roomPolicy":{"enabled":true,"allRooms":true,"checkInMinutes":10000}}`), 400, "roomPolicy.checkInMinutes", ""},
		{"end: item id with markup", end(room + "AAMk%3Cscript%3E"), 400, "itemId", "item id"},
		{"end: item id with a space", end(room + "AAMk%20AAA"), 400, "itemId", ""},
		{"end: item id too long", end(room + strings.Repeat("A", domain.MaxItemIDLen+1)), 400, "itemId", ""},
		{"end: item id with a quote", end(room + "AAMk%27%22"), 400, "itemId", ""},
		{"end: item id non-ASCII", end(room + "AAMk%C3%A9"), 400, "itemId", ""},
		{"end: address not an address", end("/tenants/contoso/rooms/room1/meetings/AAMkAAA="), 400, "address", ""},
		{"end: address non-ASCII", end("/tenants/contoso/rooms/r%E2%84%AAom@contoso.com/meetings/AAMkAAA="), 400, "address", ""},
		{"end: unknown tenant", end("/tenants/globex/rooms/room1@contoso.com/meetings/AAMkAAA="), 404, "", "globex"},
		{"end: bad tenant id", end("/tenants/Bad_Id!/rooms/room1@contoso.com/meetings/AAMkAAA="), 400, "id", ""},
		{"end: a query parameter", req{method: "POST", path: room + "AAMkAAA=/end?force=true"}, 400, "force", "unknown"},
		{"end: policy off", end(room + "AAMkAAA="), 403, "roomPolicy.enabled", "room policy is off"},
		{"check-in: policy off", checkin(room + "AAMkAAA%2F%2B="), 403, "roomPolicy.enabled", "room policy is off"},
		{"check-in: item id climbing the path", checkin(room + "..%2F..%2Fx%00"), 400, "path", ""},
		{"check-in: unknown tenant", checkin("/tenants/globex/rooms/room1@contoso.com/meetings/AAMkAAA="), 404, "", "globex"},
		{"check-in: GET", req{method: "GET", path: room + "AAMkAAA=/checkin"}, 405, "", "POST"},
		{"list: start not a time", get(list + "?start=tomorrow"), 400, "start", "RFC 3339"},
		{"list: end without a zone", get(list + "?end=2026-12-01T10:00:00"), 400, "end", "RFC 3339"},
		{"list: end before start", get(list + "?start=2026-12-01T10:00:00Z&end=2026-12-01T09:00:00Z"), 400, "end", "after start"},
		{"list: eight days", get(list + "?start=2026-12-01T00:00:00Z&end=2026-12-09T00:00:00Z"), 400, "end", "7 days"},
		{"list: start twice", get(list + "?start=2026-12-01T00:00:00Z&start=2026-12-02T00:00:00Z"), 400, "start", "more than once"},
		{"list: unknown parameter", get(list + "?room=x"), 400, "room", "unknown"},
		{"list: policy off", get(list), 403, "roomPolicy.enabled", ""},
		{"list: address not an address", get("/tenants/contoso/rooms/room1/meetings"), 400, "address", ""},
		{"list: DELETE", req{method: "DELETE", path: list}, 405, "", "GET"},
	}
}
