/**
 * The shared game of the events example: a small grid maze. Both sides know the map; only the
 * server's judgement counts.
 */

/** `#` is a wall, `.` floor. The player starts at (1, 1). */
export const MAP = [
  '#######',
  '#..#..#',
  '#..#..#',
  '#.....#',
  '#######',
];

export const START = { x: 1, y: 1 };

export type Direction = 'up' | 'down' | 'left' | 'right';

export interface Position {
  x: number;
  y: number;
}

const STEP: Record<Direction, Position> = { up: { x: 0, y: -1 }, down: { x: 0, y: 1 }, left: { x: -1, y: 0 }, right: { x: 1, y: 0 } };

/** Where a move leads (walls not considered). */
export function step(from: Position, dir: Direction): Position {
  return { x: from.x + STEP[dir].x, y: from.y + STEP[dir].y };
}

/** True when the cell is inside the map and not a wall. */
export function isFloor(p: Position): boolean {
  return MAP[p.y]?.[p.x] === '.';
}

/** A move event as sent on the wire: `{"move": "right"}`. */
export interface MoveEvent {
  move: Direction;
}

export function isMoveEvent(data: unknown): data is MoveEvent {
  const move = (data as { move?: unknown } | null)?.move;
  return move === 'up' || move === 'down' || move === 'left' || move === 'right';
}
