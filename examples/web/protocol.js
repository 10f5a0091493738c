// The dots protocol, shared by the page (app.js) and the Node owner (server.ts).
// Every message is one peote chunk written with PeoteBytesOutput (little-endian).
//
//   owner -> tab   WELCOME  [1][userNr u16]                 your user number
//                  DOT      [2][userNr u16][x i16][y i16]   a dot appeared or moved
//                  GONE     [3][userNr u16]                 that tab closed
//   tab -> owner   MOVE     [10][x i16][y i16]              where my dot wants to be

/** Message kinds (first byte of a chunk). */
export const WELCOME = 1;
export const DOT = 2;
export const GONE = 3;
export const MOVE = 10;

/** The joint every tab enters. */
export const JOINT_ID = 'gamewire-dots';

/** The playing field, in pixels. */
export const WIDTH = 640;
export const HEIGHT = 400;
/** Pixels per arrow key press. */
export const STEP = 12;

/** Clamp a position to the field (the owner never trusts a tab). */
export function clampX(x) {
  return Math.max(10, Math.min(WIDTH - 10, x | 0));
}
export function clampY(y) {
  return Math.max(10, Math.min(HEIGHT - 10, y | 0));
}

/** A dot's colour, spread around the hue circle by user number. */
export function colorOf(userNr) {
  return `hsl(${(userNr * 137.508) % 360}, 75%, 58%)`;
}
