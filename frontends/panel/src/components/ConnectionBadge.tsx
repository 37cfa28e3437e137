// The live-connection indicator in the header. Fixed width, so a state change never shifts the header.

import { useDesk } from '../desk';
import { useNow } from './common';

export function ConnectionBadge() {
  const { connection, live } = useDesk();
  const now = useNow(1000);
  const seconds = connection.retryAt ? Math.max(0, Math.ceil((connection.retryAt - now) / 1000)) : null;
  const label =
    connection.state === 'live'
      ? 'Live updates'
      : connection.state === 'connecting'
        ? 'Connecting…'
        : connection.state === 'reconnecting'
          ? seconds
            ? `Reconnecting in ${seconds}s`
            : 'Reconnecting…'
          : 'Offline';
  return (
    <span className={`connection connection-${connection.state}`} data-state={connection.state}>
      <span className="connection-pill">
        <span className="dot" aria-hidden="true" />
        <span role="status" aria-live="polite">
          {label}
        </span>
      </span>
      {connection.state === 'reconnecting' && seconds !== null && seconds > 0 && (
        <button type="button" className="button-link" onClick={() => live.retryNow()}>
          Retry now
        </button>
      )}
    </span>
  );
}
