// The live-connection indicator in the header. Fixed width, so a state change never shifts the header.

import { useDesk } from '../desk';
import { useNow } from './common';
import { useT } from '../i18n';

export function ConnectionBadge() {
  const { connection, live } = useDesk();
  const { t } = useT();
  const now = useNow(1000);
  const seconds = connection.retryAt ? Math.max(0, Math.ceil((connection.retryAt - now) / 1000)) : null;
  const label =
    connection.state === 'live'
      ? t('connection.live')
      : connection.state === 'connecting'
        ? t('connection.connecting')
        : connection.state === 'reconnecting'
          ? seconds
            ? t('connection.reconnectingIn', { seconds })
            : t('connection.reconnecting')
          : t('connection.offline');
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
          {t('connection.retryNow')}
        </button>
      )}
    </span>
  );
}
