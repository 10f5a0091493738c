import { describe, expect, it } from 'vitest';
import { JointEndpoint, JointState, type Membership } from '../../src/joint/relay-state.js';

function setup(limits = {}) {
  const events: string[] = [];
  const state = new JointState(
    {
      userGone: (m: Membership, reason) => events.push(`userGone ${m.joint.jOwn}/${m.userNr} ${reason}`),
      jointGone: (m: Membership, reason) => events.push(`jointGone ${m.jIn} ${reason}`),
    },
    limits,
  );
  return { state, events };
}
const id = (s: string) => Buffer.from(s);

describe('JointState (joint.md §3, §6)', () => {
  it('checks create errors in the order of §3.1', () => {
    const { state } = setup({ maxIdBytes: 4 });
    const a = new JointEndpoint(1);
    expect(state.create(a, id('x'))).toBe(0);
    expect(state.create(a, id('x'))).toBe(-2);
    expect(state.create(a, id('y'))).toBe(-1);
    expect(state.create(a, id('toolong'))).toBe(-3);
  });

  it('checks enter errors in the order of §3.1', () => {
    const { state } = setup({ maxUsersPerJoint: 1 });
    const owner = new JointEndpoint();
    const u1 = new JointEndpoint();
    const u2 = new JointEndpoint(128, 1);
    state.create(owner, id('j'));
    state.create(owner, id('k'));
    expect(state.enter(u1, id('none'))).toBe(-1);
    expect(state.enter(owner, id('j'))).toBe(-2);
    expect((state.enter(u1, id('j')) as Membership).userNr).toBe(0);
    expect(state.enter(u1, id('j'))).toBe(-3);
    expect(state.enter(u2, id('j'))).toBe(-4);
    expect((state.enter(u2, id('k')) as Membership).jIn).toBe(0);
    state.create(owner, id('l'));
    expect(state.enter(u2, id('l'))).toBe(-5);
  });

  it('runs the close cleanup of §6.3 with reason 1, and frees ids and numbers', () => {
    const { state, events } = setup();
    const owner = new JointEndpoint();
    const user = new JointEndpoint();
    const other = new JointEndpoint();
    state.create(owner, id('j'));
    state.create(user, id('mine'));
    state.enter(user, id('j'));
    state.enter(other, id('mine'));
    state.removeEndpoint(user);
    expect(events).toEqual(['jointGone 0 1', 'userGone 0/0 1']);
    expect(state.joints).toBe(1);
    expect(state.users).toBe(0);
    expect(state.create(other, id('mine'))).toBe(0);
    state.removeEndpoint(user);
    expect(events.length).toBe(2);
  });

  it('leaves and deletes with reason 0, kicks with reason 2, ignores unknown numbers', () => {
    const { state, events } = setup();
    const owner = new JointEndpoint();
    const user = new JointEndpoint();
    state.create(owner, id('j'));
    state.enter(user, id('j'));
    expect(state.leave(user, 5)).toBe(false);
    expect(state.leave(user, 0)).toBe(true);
    state.enter(user, id('j'));
    expect(state.kick(owner, 0, 9)).toBe(false);
    expect(state.kick(owner, 0, 0)).toBe(true);
    state.enter(user, id('j'));
    expect(state.delete(owner, 3)).toBe(false);
    expect(state.delete(owner, 0)).toBe(true);
    expect(events).toEqual(['userGone 0/0 0', 'jointGone 0 2', 'userGone 0/0 2', 'jointGone 0 0']);
    expect(state.sequence).toBe(3);
  });

  it('refuses limits above the protocol maxima', () => {
    expect(() => setup({ maxUsersPerJoint: 257 })).toThrow(RangeError);
    expect(() => setup({ maxIdBytes: 256 })).toThrow(RangeError);
  });
});
