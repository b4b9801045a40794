// Front doors (docs/operations.md, "Front doors"): every node of a group appears in the route as
// its own broker name, "<brokerName>-<nodeId>", with a fixed, disjoint share of each topic's
// queues. Door d of D holds the group's queues d, d + D, d + 2D, ...; the client sees them as
// queue ids 0, 1, 2, ... of that broker name. The share depends only on the door's position in
// dLegerPeers and the topic's queue count, so every node maps a door the same way and a
// takeover changes nothing a client or a consumer offset can see. Pure functions only.

/** The broker name a door appears under in routes and clusterList. */
export function doorBrokerName(brokerName: string, nodeId: string): string {
  return `${brokerName}-${nodeId}`;
}

/** How many of a topic's `queueNums` queues door `door` (0-based) of `doors` holds. */
export function doorShare(queueNums: number, door: number, doors: number): number {
  if (queueNums <= door) return 0;
  return Math.ceil((queueNums - door) / doors);
}

/** The group's queue id behind a door's queue id (a negative id, "any queue", stays negative). */
export function groupQueueOf(doorQueueId: number, door: number, doors: number): number {
  if (doorQueueId < 0) return doorQueueId;
  return door + doors * doorQueueId;
}

/** The door's queue id for a group queue it holds; undefined when another door holds that queue. */
export function doorQueueOf(groupQueueId: number, door: number, doors: number): number | undefined {
  if (groupQueueId < 0 || groupQueueId % doors !== door) return undefined;
  return (groupQueueId - door) / doors;
}
